"""Who is scored: population snapshots and referrals (data contract, "Who is scored").

A cohort is a DataFrame with columns ``person_id`` (str), ``as_of``
(datetime64[ns]) and ``kind`` (``snapshot`` or ``referral``), plus
``referral_source`` for referrals.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from extract.contract import COHORT_MAX_AGE, COHORT_MIN_AGE, Extract, age_in_years

NO_DATES = "give at least one snapshot date"
DATE_AFTER_EXTRACT = (
    "snapshot date {date} is after the extract's extracted_on {extracted_on}: "
    "records after extracted_on are not in the extract"
)
NO_REFERRALS = "the extract has no referrals table, so there is no referral cohort"
UNKNOWN_COHORT_PERSON = "the cohort refers to a person_id that is not in the people table"


# Why a cohort row is not scored (contract, "Who may be scored"), as `svrisk score` reports it.
OUTSIDE_AGES = f"aged outside {COHORT_MIN_AGE}-{COHORT_MAX_AGE} on the as-of date"


def snapshot_cohort(
    extract: Extract, dates: Iterable[str | pd.Timestamp], *, all_ages: bool = False
) -> pd.DataFrame:
    """Everyone in ``people`` aged 10 to 24 (whole years) on each date, ordered by date then person
    (with ``all_ages``, everyone in ``people``, for :func:`within_scoring_ages` to count).

    Raises
    ------
    ValueError
        With no dates, or a date after ``extract.extracted_on``.
    """
    stamps = [pd.Timestamp(d).normalize() for d in dates]
    if not stamps:
        raise ValueError(NO_DATES)
    ids = extract["people"]["person_id"].to_numpy(dtype=object)
    parts = []
    for as_of in sorted(set(stamps)):
        if as_of > extract.extracted_on:
            raise ValueError(DATE_AFTER_EXTRACT.format(date=as_of.date(), extracted_on=extract.extracted_on.date()))
        parts.append(_cohort_frame(ids, np.full(len(ids), as_of.to_datetime64()), "snapshot"))
    everyone = pd.concat(parts, ignore_index=True)
    return everyone if all_ages else within_scoring_ages(extract, everyone)[0]


def within_scoring_ages(extract: Extract, cohort: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cohort rows whose person is aged 10 to 24 on the row's as_of (the rows a model may
    score, in order, index reset) and how many rows were left out, by reason (``OUTSIDE_AGES``;
    no entry when none)."""
    people = extract["people"]
    position = pd.Index(people["person_id"].to_numpy(dtype=object), dtype=object).get_indexer(
        pd.Index(cohort["person_id"].to_numpy(dtype=object), dtype=object))
    if (position < 0).any():
        raise ValueError(UNKNOWN_COHORT_PERSON)
    birth = pd.Series(people["birth_month"].to_numpy()[position])
    age = age_in_years(birth, pd.Series(cohort["as_of"].to_numpy(dtype="datetime64[ns]"))).to_numpy()
    in_range = (age >= COHORT_MIN_AGE) & (age <= COHORT_MAX_AGE)
    left_out = int((~in_range).sum())
    kept = cohort if not left_out else cohort.loc[in_range]
    return kept.reset_index(drop=True), ({OUTSIDE_AGES: left_out} if left_out else {})


def referral_cohort(extract: Extract) -> pd.DataFrame:
    """One row per referral, scored on its ``referred_on`` date, with ``referral_source``."""
    if not extract.has_referrals:
        raise ValueError(NO_REFERRALS)
    referrals = extract["referrals"]
    out = _cohort_frame(
        referrals["person_id"].to_numpy(dtype=object),
        referrals["referred_on"].to_numpy(dtype="datetime64[ns]"),
        "referral",
    )
    out["referral_source"] = referrals["referral_source"].to_numpy()
    out["referral_source"] = out["referral_source"].astype(referrals["referral_source"].dtype)
    return out


def _cohort_frame(person_id: np.ndarray, as_of: np.ndarray, kind: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": pd.Series(person_id, dtype=object),
            "as_of": pd.Series(as_of, dtype="datetime64[ns]"),
            "kind": pd.Series(np.full(len(person_id), kind, dtype=object), dtype=object),
        }
    )
