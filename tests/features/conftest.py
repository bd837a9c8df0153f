"""Fixtures of the features tests: a hand-built extract and a small generated one."""

from __future__ import annotations

import pandas as pd
import pytest

from extract.canonical import empty_table, to_canonical
from extract.contract import TABLES, Extract

AS_OF = pd.Timestamp("2024-04-01")


def tiny_frames() -> dict[str, pd.DataFrame]:
    """Two people with a known history around 2024-04-01 (values as in a CSV: strings)."""
    return {
        "people": pd.DataFrame({
            "person_id": ["a", "b"], "birth_month": ["2008-03-01", "2001-07-01"],
            "sex": ["male", "female"], "ethnicity": ["white", "black"], "imd_decile": [3, None],
            "sen": ["none", "ehcp"], "local_authority": ["coventry", "wolverhampton"],
        }),
        "adversity": pd.DataFrame({
            "person_id": ["a", "a", "a"], "recorded_on": ["2020-01-01", "2023-05-01", "2024-05-01"],
            "ace_type": ["physical_abuse", "domestic_abuse", "sexual_abuse"],
            "source": ["police", "school", "health"],
        }),
        "care_episodes": pd.DataFrame({
            "person_id": ["a", "a", "a"], "start_on": ["2021-01-01", "2023-01-01", "2023-06-01"],
            "end_on": ["2022-01-01", None, "2024-04-01"],
            "episode": ["child_in_need", "child_protection_plan", "early_help"],
        }),
        "attendance": pd.DataFrame({
            "person_id": ["a"] * 6 + ["b"],
            "term_start": ["2022-09-01", "2023-01-05", "2023-04-15", "2023-09-01", "2024-01-05",
                           "2024-04-15", "2016-09-01"],
            "term_end": ["2022-12-20", "2023-03-31", "2023-07-21", "2023-12-20", "2024-03-28",
                         "2024-07-19", "2016-12-20"],
            "sessions_possible": [100] * 7,
            "sessions_attended": [95, 90, 85, 80, 70, 60, 99],
            "unauthorised_absences": [1, 2, 3, 4, 5, 6, 0],
        }),
        "exclusions": pd.DataFrame({
            "person_id": ["a", "a", "a"], "excluded_on": ["2023-10-01", "2024-02-01", "2024-04-01"],
            "exclusion": ["suspension", "suspension", "permanent"], "days": [2.5, 1.0, None],
        }),
        "education_status": pd.DataFrame({
            "person_id": ["b"], "recorded_on": ["2023-01-01"], "status": ["neet"],
        }),
        "police_contacts": pd.DataFrame({
            "person_id": ["a", "a"], "occurred_on": ["2024-01-01", "2024-06-01"],
            "role": ["suspect", "victim"], "category": ["robbery", "violence_with_injury"],
        }),
        "health_events": pd.DataFrame({
            "person_id": ["b"], "occurred_on": ["2023-03-01"], "event": ["ed_self_harm"],
        }),
    }


def canonical_extract(frames: dict[str, pd.DataFrame], extracted_on: str = "2025-07-01") -> Extract:
    """An Extract straight from canonical conversion (no validation: for fast property tests)."""
    tables = {
        name: to_canonical(name, frames[name]) if name in frames else empty_table(name)
        for name in TABLES
    }
    return Extract(tables=tables, extracted_on=pd.Timestamp(extracted_on), source="test")


@pytest.fixture
def tiny() -> dict[str, pd.DataFrame]:
    return tiny_frames()


@pytest.fixture(scope="session")
def generated():
    """A small generated extract with known truth (4,000 people, snapshots 2019-2023)."""
    from extract.loader import extract_from_frames
    from extract.synthetic.generator import generate

    synthetic = generate(4000, 11, "2019-04-01", "2024-03-31")
    extract = extract_from_frames(synthetic.frames, extracted_on=synthetic.extracted_on)
    return synthetic, extract


@pytest.fixture
def make_extract():
    """The canonical_extract helper, for tests that edit frames."""
    return canonical_extract
