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


def snapshot_cohort(extract: Extract, dates: Iterable[str | pd.Timestamp]) -> pd.DataFrame:
    """Everyone in ``people`` aged 10 to 24 (whole years) on each date, ordered by date then person.

    Raises
    ------
    ValueError
        With no dates, or a date after ``extract.extracted_on``.
    """
    stamps = [pd.Timestamp(d).normalize() for d in dates]
    if not stamps:
        raise ValueError(NO_DATES)
    people = extract["people"]
    parts = []
    for as_of in sorted(set(stamps)):
        if as_of > extract.extracted_on:
            raise ValueError(DATE_AFTER_EXTRACT.format(date=as_of.date(), extracted_on=extract.extracted_on.date()))
        age = age_in_years(people["birth_month"], as_of)
        in_range = ((age >= COHORT_MIN_AGE) & (age <= COHORT_MAX_AGE)).to_numpy()
        ids = people["person_id"].to_numpy(dtype=object)[in_range]
        parts.append(_cohort_frame(ids, np.full(len(ids), as_of.to_datetime64()), "snapshot"))
    return pd.concat(parts, ignore_index=True)


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
