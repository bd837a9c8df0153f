"""Context: age at as_of and the deprivation decile of the home area; protected characteristics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from extract.contract import AGE_BANDS, AUDITED_ATTRIBUTES, age_band, age_in_years
from features.point_in_time import CohortClock

AGE_BAND_CATEGORIES: tuple[str, ...] = tuple(label for label, _, _ in AGE_BANDS) + ("out_of_range",)


def person_rows(clock: CohortClock) -> pd.DataFrame:
    """The people-table row of each cohort row, in cohort order (RangeIndex)."""
    return clock.tables["people"].iloc[clock.row_codes].reset_index(drop=True)


def ages(as_of: pd.Series, people: pd.DataFrame) -> pd.Series:
    """Whole years at as_of (extract.contract.age_in_years), in cohort order."""
    return age_in_years(people["birth_month"], as_of.reset_index(drop=True))


def context_features(people: pd.DataFrame, age: pd.Series) -> dict[str, np.ndarray]:
    """``age`` in whole years and ``imd_decile`` (NaN where the area is not recorded)."""
    return {
        "age": age.to_numpy(dtype=np.float64),
        "imd_decile": people["imd_decile"].to_numpy(dtype=np.float64),
    }


def audit_columns(people: pd.DataFrame, age: pd.Series) -> pd.DataFrame:
    """sex, ethnicity, age_band, sen, imd_decile, local_authority per cohort row."""
    audit = people[[name for name in AUDITED_ATTRIBUTES if name != "age_band"]]
    band = pd.Categorical(age_band(age), categories=AGE_BAND_CATEGORIES)
    audit.insert(AUDITED_ATTRIBUTES.index("age_band"), "age_band", band)
    return audit
