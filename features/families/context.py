"""Context: age at as_of and the deprivation decile of the home area; protected characteristics."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from extract.canonical import table_frame
from extract.contract import AGE_BANDS, AUDITED_ATTRIBUTES, age_band, age_in_years
from features.point_in_time import CohortClock

AGE_BAND_CATEGORIES: tuple[str, ...] = tuple(label for label, _, _ in AGE_BANDS) + ("out_of_range",)
AGE_BAND_DTYPE = pd.CategoricalDtype(list(AGE_BAND_CATEGORIES), ordered=False)
# The people columns the context and the audit read, per cohort row.
PERSON_COLUMNS: tuple[str, ...] = ("birth_month", *(n for n in AUDITED_ATTRIBUTES if n != "age_band"))


def person_rows(clock: CohortClock) -> dict[str, np.ndarray | pd.Categorical]:
    """The people-table values of each cohort row, in cohort order, by column
    (numpy arrays and ``pandas.Categorical``, as ``Extract.columns`` holds them)."""
    people = clock.table("people")
    return {name: people.array(name).take(clock.row_codes) for name in PERSON_COLUMNS}


def ages(as_of: pd.Series, people: dict[str, np.ndarray | pd.Categorical]) -> np.ndarray:
    """Whole years at as_of (extract.contract.age_in_years), in cohort order, as int64."""
    index = pd.RangeIndex(len(as_of))
    birth = pd.Series(people["birth_month"], index=index, copy=False)
    return age_in_years(birth, pd.Series(as_of.array, index=index, copy=False)).to_numpy()


def context_features(people: dict[str, np.ndarray | pd.Categorical], age: np.ndarray) -> dict[str, np.ndarray]:
    """``age`` in whole years and ``imd_decile`` (NaN where the area is not recorded)."""
    return {
        "age": age.astype(np.float64),
        "imd_decile": np.asarray(people["imd_decile"], dtype=np.float64),
    }


@lru_cache(maxsize=256)
def _band_codes(youngest: int, oldest: int) -> np.ndarray:
    """Code (in ``AGE_BAND_DTYPE``) of every whole age from ``youngest`` to ``oldest``,
    from extract.contract.age_band (called once per range, not once per row)."""
    labels = age_band(pd.Series(np.arange(youngest, oldest + 1)))
    position = {label: i for i, label in enumerate(AGE_BAND_CATEGORIES)}
    codes = np.array([position.get(label, -1) for label in labels], dtype=np.int8)
    codes.flags.writeable = False  # cached and shared
    return codes


def age_bands(age: np.ndarray) -> pd.Categorical:
    """The audit age band of each whole-year age, as a Categorical of ``AGE_BAND_DTYPE``."""
    if not len(age):
        codes = np.empty(0, dtype=np.int8)
    else:
        youngest = int(age.min())
        codes = _band_codes(youngest, int(age.max()))[age - youngest]
    return pd.Categorical.from_codes(codes, dtype=AGE_BAND_DTYPE, validate=False)


def audit_values(
    people: dict[str, np.ndarray | pd.Categorical], age: np.ndarray
) -> dict[str, np.ndarray | pd.Categorical]:
    """sex, ethnicity, age_band, sen, imd_decile, local_authority per cohort row, as arrays."""
    return {name: age_bands(age) if name == "age_band" else people[name] for name in AUDITED_ATTRIBUTES}


def audit_columns(people: dict[str, np.ndarray | pd.Categorical], age: np.ndarray) -> pd.DataFrame:
    """:func:`audit_values` as a frame."""
    return table_frame(audit_values(people, age))
