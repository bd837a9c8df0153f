"""The data contract (../shared/data-contract.md) as data.

This module is the single source of truth for table names, columns, types,
category lists, the default outcome definition and which characteristics are
protected. The generator writes from it, the loader validates against it, the
feature pipeline reads it and the service builds its request schema from it.
Nothing here touches the file system.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

ColumnKind = Literal["id", "date", "category", "int", "number", "string"]

# The contract version this module describes (../shared/data-contract.md).
CONTRACT_VERSION = "1.1"
# Columns a 1.0 extract does not have: the loader reads such an extract with them empty
# (nullable ones) or derived (attendance.term_end), see extract.loader.
PREVIOUS_VERSION = "1.0"
# LSOA 2021 codes: E01 (England) or W01 (Wales) and six digits.
LSOA_PATTERN = r"[EW]01[0-9]{6}"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table.

    Attributes
    ----------
    name : str
        Column name as it appears in the file header.
    kind : {"id", "date", "category", "int", "number", "string"}
        ``id`` is the pseudonymised person_id; ``string`` is free lower-case
        text (local_authority); ``int`` and ``number`` are numeric.
    nullable : bool
        Whether an empty cell is allowed.
    categories : tuple of str, optional
        Allowed values for a ``category`` column.
    minimum, maximum : float, optional
        Inclusive numeric bounds.
    pattern : str, optional
        Regular expression every non-empty value must match in full (area codes).
    description : str
        What the column holds, as the contract words it.
    added_in : str
        Contract version that added the column; an extract of an earlier version may
        lack it (``PREVIOUS_VERSION``).
    """

    name: str
    kind: ColumnKind
    nullable: bool = False
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    description: str = ""
    added_in: str = PREVIOUS_VERSION


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its columns, its event-date column and whether it is optional."""

    name: str
    columns: tuple[ColumnSpec, ...]
    date_column: str | None
    optional: bool = False
    one_row_per_person: bool = False
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


SEX = ("female", "male", "unknown")
ETHNICITY = ("asian", "black", "mixed", "white", "other", "unknown")
SEN = ("none", "sen_support", "ehcp", "unknown")
ACE_TYPES = (
    "physical_abuse",
    "emotional_abuse",
    "sexual_abuse",
    "physical_neglect",
    "emotional_neglect",
    "domestic_abuse",
    "parental_substance_misuse",
    "parental_mental_illness",
    "parental_separation",
    "household_incarceration",
)
ADVERSITY_SOURCES = ("early_help", "social_care", "police", "health", "school")
CARE_EPISODES = ("early_help", "child_in_need", "child_protection_plan", "looked_after")
EXCLUSION_TYPES = ("suspension", "permanent")
EDUCATION_STATUSES = (
    "school_move",
    "alternative_provision",
    "elective_home_education",
    "child_missing_education",
    "neet",
)
POLICE_ROLES = ("victim", "suspect", "missing_person", "witness")
POLICE_CATEGORIES = (
    "violence_with_injury",
    "violence_without_injury",
    "robbery",
    "weapon_possession",
    "drugs_supply",
    "drugs_possession",
    "sexual_offence",
    "criminal_exploitation_concern",
    "antisocial_behaviour",
    "other",
)
HEALTH_EVENTS = (
    "ed_assault_injury",
    "ed_self_harm",
    "ed_substance_related",
    "substance_misuse_treatment",
    "camhs_referral",
)
REFERRAL_SOURCES = ("police", "school", "social_care", "health", "family", "community")
# Home Office knife / firearm flags on police records; empty where not applicable.
POLICE_WEAPONS = ("none", "knife_or_sharp", "firearm", "other", "unknown")
# The Cardiff Model's shared ED data on assaults.
HEALTH_WEAPONS = ("none", "knife_or_sharp", "firearm", "blunt", "other", "unknown")
REFERRAL_OUTCOMES = ("pending", "accepted", "declined", "not_eligible", "out_of_area", "signposted")

_PID = ColumnSpec("person_id", "id", description="in people")


def _area_code(description: str) -> ColumnSpec:
    """A nullable LSOA 2021 code column (new in 1.1)."""
    return ColumnSpec("area_code", "string", nullable=True, pattern=LSOA_PATTERN,
                      description=description, added_in=CONTRACT_VERSION)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "people",
            (
                ColumnSpec("person_id", "id", description="unique, pseudonymised by the data owner"),
                ColumnSpec("birth_month", "date", description="first day of the birth month"),
                ColumnSpec("sex", "category", categories=SEX),
                ColumnSpec("ethnicity", "category", categories=ETHNICITY,
                           description="ONS 2021 high-level groups"),
                ColumnSpec("imd_decile", "int", nullable=True, minimum=1, maximum=10,
                           description="1 = most deprived LSOA (Index of Multiple Deprivation)"),
                ColumnSpec("sen", "category", categories=SEN, description="special educational needs"),
                ColumnSpec("local_authority", "string", description="e.g. coventry, wolverhampton"),
                _area_code("home Lower Layer Super Output Area at extraction (LSOA 2021 code)"),
            ),
            date_column=None,
            one_row_per_person=True,
            description="one row per person",
        ),
        TableSpec(
            "adversity",
            (
                _PID,
                ColumnSpec("recorded_on", "date"),
                ColumnSpec("ace_type", "category", categories=ACE_TYPES),
                ColumnSpec("source", "category", categories=ADVERSITY_SOURCES),
            ),
            date_column="recorded_on",
            description="adverse childhood experiences and household adversity",
        ),
        TableSpec(
            "care_episodes",
            (
                _PID,
                ColumnSpec("start_on", "date"),
                ColumnSpec("end_on", "date", nullable=True,
                           description="empty while open; not before start_on"),
                ColumnSpec("episode", "category", categories=CARE_EPISODES),
            ),
            date_column="start_on",
            description="early help and children's social care",
        ),
        TableSpec(
            "attendance",
            (
                _PID,
                ColumnSpec("term_start", "date",
                           description="at most one row per (person_id, term_start)"),
                ColumnSpec("term_end", "date", added_in=CONTRACT_VERSION,
                           description=">= term_start; the term's attendance is known from this date "
                                       "and counts for features only when term_end is before as_of"),
                ColumnSpec("sessions_possible", "int", minimum=1),
                ColumnSpec("sessions_attended", "int", minimum=0,
                           description="0..sessions_possible"),
                ColumnSpec("unauthorised_absences", "int", minimum=0,
                           description="0..(sessions_possible - sessions_attended)"),
            ),
            date_column="term_start",
            description="one row per person per school term",
        ),
        TableSpec(
            "exclusions",
            (
                _PID,
                ColumnSpec("excluded_on", "date"),
                ColumnSpec("exclusion", "category", categories=EXCLUSION_TYPES),
                ColumnSpec("days", "number", nullable=True,
                           description="> 0 for a suspension (its length in days); "
                                       "empty for a permanent exclusion"),
            ),
            date_column="excluded_on",
        ),
        TableSpec(
            "education_status",
            (
                _PID,
                ColumnSpec("recorded_on", "date"),
                ColumnSpec("status", "category", categories=EDUCATION_STATUSES),
            ),
            date_column="recorded_on",
            description="events in a young person's education",
        ),
        TableSpec(
            "police_contacts",
            (
                _PID,
                ColumnSpec("occurred_on", "date"),
                ColumnSpec("role", "category", categories=POLICE_ROLES),
                ColumnSpec("category", "category", categories=POLICE_CATEGORIES),
                ColumnSpec("weapon", "category", nullable=True, categories=POLICE_WEAPONS,
                           added_in=CONTRACT_VERSION,
                           description="the Home Office knife / firearm flags; empty where not applicable"),
                _area_code("LSOA 2021 code of where it happened"),
            ),
            date_column="occurred_on",
        ),
        TableSpec(
            "health_events",
            (
                _PID,
                ColumnSpec("occurred_on", "date"),
                ColumnSpec("event", "category", categories=HEALTH_EVENTS),
                ColumnSpec("weapon", "category", nullable=True, categories=HEALTH_WEAPONS,
                           added_in=CONTRACT_VERSION,
                           description="for ed_assault_injury (the Cardiff Model's shared ED data)"),
                _area_code("for ed_assault_injury: LSOA 2021 code of where the assault happened, "
                           "as the patient told the ED (Cardiff Model)"),
            ),
            date_column="occurred_on",
        ),
        TableSpec(
            "referrals",
            (
                _PID,
                ColumnSpec("referred_on", "date"),
                ColumnSpec("referral_source", "category", categories=REFERRAL_SOURCES),
                ColumnSpec("programme", "string", nullable=True, added_in=CONTRACT_VERSION,
                           description="the service referred to, e.g. cirv, early_help"),
                ColumnSpec("outcome", "category", nullable=True, categories=REFERRAL_OUTCOMES,
                           added_in=CONTRACT_VERSION,
                           description="what happened after the referral (empty while unknown); "
                                       "never a feature for scoring that referral"),
                ColumnSpec("engaged_on", "date", nullable=True, added_in=CONTRACT_VERSION,
                           description="the day the young person first engaged with the programme; "
                                       "not before referred_on; empty if never; never a feature"),
            ),
            date_column="referred_on",
            optional=True,
            description="requests for an early-help or violence-reduction response",
        ),
    )
}

# What happened after a referral: what an impact evaluation compares, never a feature for
# scoring that referral (nor any other row).
REFERRAL_AFTER_COLUMNS: tuple[str, ...] = ("outcome", "engaged_on")

EVENT_TABLES: tuple[str, ...] = tuple(name for name in TABLES if name != "people")
REQUIRED_TABLES: tuple[str, ...] = tuple(name for name, t in TABLES.items() if not t.optional)
FILE_FORMATS = ("csv", "parquet")
MANIFEST_FILE = "manifest.json"
# Both the loader and the writers refuse a table name outside TABLES with this message.
UNKNOWN_TABLE = "{table!r} is not a contract table; contract tables: {allowed}"

# The rules every table follows, in the contract's words: docs/data-contract.md renders
# them (extract/contract_markdown.py) and the loader enforces them (extract/loader.py).
RULES: tuple[str, ...] = (
    "Dates are ISO `YYYY-MM-DD`. Every event row carries the date on which the record was made "
    "known to the partnership; a feature for an as-of date uses only rows dated strictly before it. "
    "An attendance term counts only once its `term_end` is before the as-of date.",
    "`person_id` is a non-empty string, pseudonymised by the data owner. No names, addresses, "
    "postcodes, full dates of birth, NHS numbers, UPNs, e-mail addresses or telephone numbers "
    "appear anywhere: a column not in this contract is refused, and so is a value in any text "
    "column (person_id included) that looks like a direct identifier (listed below). The error "
    "names table, column and row, and never repeats the value.",
    "Category values are lower-case `snake_case` from the lists below. An unknown value is an "
    "error that names the table, column, row and value and suggests the listed value it most "
    "resembles; it is never corrected silently.",
    "Unknown or not recorded is written `unknown` (categories) or left empty (numbers); it is "
    "never guessed.",
    f"`{MANIFEST_FILE}` is optional: `{{\"extracted_on\": \"YYYY-MM-DD\"}}` says the records are "
    "complete for every date before it, so an outcome window is fully observed when it ends on or "
    "before it. Without it, the day after the latest date in any table is taken. A record dated on "
    "or after `extracted_on` is an error.",
)

# Protected characteristics are audited, never model inputs by default.
PROTECTED_ATTRIBUTES: tuple[str, ...] = ("sex", "ethnicity", "age_band", "sen")
# Sensitive but allowed as inputs (deprivation is a regional driver); still audited.
SENSITIVE_ATTRIBUTES: tuple[str, ...] = ("imd_decile", "local_authority")
AUDITED_ATTRIBUTES: tuple[str, ...] = PROTECTED_ATTRIBUTES + SENSITIVE_ATTRIBUTES

# Age bands for auditing, inclusive bounds in whole years at the as-of date.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("10-13", 10, 13),
    ("14-15", 14, 15),
    ("16-17", 16, 17),
    ("18-20", 18, 20),
    ("21-24", 21, 24),
)
COHORT_MIN_AGE = 10
COHORT_MAX_AGE = 24


MISSING_DATE_FOR_AGE = "cannot compute an age from a missing birth_month or as_of date"


def _year_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calendar year, month and day of datetime64[D] values."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def age_in_years(birth_month: pd.Series, as_of: pd.Series | pd.Timestamp) -> pd.Series:
    """Whole years completed between ``birth_month`` and ``as_of`` (vectorised).

    Two Series are aligned on their index first, as pandas arithmetic would.
    Calendar parts come from numpy: pandas' ``.dt`` accessors cost more than the
    arithmetic on the one row of a single case.
    """
    birth = birth_month if isinstance(birth_month, pd.Series) and (
        pd.api.types.is_datetime64_any_dtype(birth_month)) else pd.to_datetime(birth_month)
    ref = as_of if isinstance(as_of, pd.Series) and (
        pd.api.types.is_datetime64_any_dtype(as_of)) else pd.to_datetime(as_of)
    if isinstance(ref, pd.Series):
        if not ref.index.equals(birth.index):
            birth, ref = birth.align(ref)
        ref_days = _naive_days(ref)
    else:
        ref_days = np.asarray([pd.Timestamp(ref).tz_localize(None).to_datetime64()]).astype("datetime64[D]")
    birth_days = _naive_days(birth)
    if np.isnat(birth_days).any() or np.isnat(ref_days).any():
        raise ValueError(MISSING_DATE_FOR_AGE)
    birth_year, birth_mon, birth_day = _year_month_day(birth_days)
    ref_year, ref_mon, ref_day = _year_month_day(ref_days)
    before_birthday = (ref_mon < birth_mon) | ((ref_mon == birth_mon) & (ref_day < birth_day))
    return pd.Series(ref_year - birth_year - before_birthday, index=birth.index, dtype="int64")


def _naive_days(dates: pd.Series) -> np.ndarray:
    """Local calendar days of a datetime Series (timezone-aware ones in their own zone)."""
    if getattr(dates.dtype, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")


def age_band(age: pd.Series) -> pd.Series:
    """Map whole-year ages to the contract's audit age bands ("out_of_range" outside 10-24)."""
    values = age.to_numpy()
    out = np.full(len(values), "out_of_range", dtype=object)
    for label, low, high in AGE_BANDS:
        out[(values >= low) & (values <= high)] = label
    return pd.Series(out, index=age.index, dtype=object)


class OutcomeDefinition(BaseModel):
    """Serious violence involvement in ``horizon_days`` from the as-of date.

    The window is ``as_of <= date < as_of + horizon_days``, so a record dated on
    the as-of date is outcome, never feature. Defaults follow the contract.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon_days: int = Field(365, gt=0, description="Length of the outcome window in days.")
    police_roles: tuple[str, ...] = Field(
        ("victim", "suspect"), description="police_contacts roles that count."
    )
    police_categories: tuple[str, ...] = Field(
        ("violence_with_injury", "robbery", "weapon_possession"),
        description="police_contacts categories that count.",
    )
    health_events: tuple[str, ...] = Field(
        ("ed_assault_injury",), description="health_events events that count."
    )

    @field_validator("police_roles")
    @classmethod
    def _roles_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _known(value, POLICE_ROLES, "police_roles")

    @field_validator("police_categories")
    @classmethod
    def _categories_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _known(value, POLICE_CATEGORIES, "police_categories")

    @field_validator("health_events")
    @classmethod
    def _health_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _known(value, HEALTH_EVENTS, "health_events")

    def describe(self) -> str:
        """A plain-English sentence for model cards and reports."""
        roles = " or ".join(self.police_roles) or "no police role"
        return (
            f"Any police contact as {roles} for {', '.join(self.police_categories) or 'no category'}"
            f", or a health event of {', '.join(self.health_events) or 'no kind'}, "
            f"in the {self.horizon_days} days from the as-of date."
        )


def _known(value: tuple[str, ...], allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown value(s) {unknown}; allowed: {list(allowed)}")
    return tuple(value)


DEFAULT_OUTCOME = OutcomeDefinition()


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray | pd.Categorical]:
    """A canonical frame's columns as arrays: numpy arrays, categories as pandas.Categorical."""
    return {
        key: series.array if isinstance(series.dtype, pd.CategoricalDtype) else series.to_numpy()
        for key, series in frame.items()
    }


@dataclass
class Extract:
    """A loaded, validated extract: every contract table, with canonical dtypes.

    ``tables`` maps every table in ``TABLES`` to its frame (optional ones as
    empty frames when absent); the loader's mapping builds each frame on first
    use, and :meth:`columns` reads a table's arrays without one. An extract is
    not edited after validation (the loader's arrays are read-only). Dtypes are
    canonical, whichever path built the extract
    (CSV, Parquet, a generator or one JSON case): ``person_id`` and
    ``local_authority`` as ``object`` str, dates as ``datetime64[ns]``,
    categories as ``pandas.CategoricalDtype`` with the contract's categories,
    ``int`` columns as ``int64`` (``float64`` when nullable), ``number`` as
    ``float64``. ``extracted_on`` is the manifest date or the day after the
    latest date in any table. ``notices`` are what the loader did that the user should
    know but that is no violation (a 1.0 extract's derived ``term_end``), one line each;
    the CLIs print them.
    """

    tables: Mapping[str, pd.DataFrame]
    extracted_on: pd.Timestamp
    source: str | None = None
    has_referrals: bool = field(default=False)
    notices: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def columns(self, name: str) -> Mapping[str, np.ndarray | pd.Categorical]:
        """One table's canonical columns as arrays (categories as ``pandas.Categorical``).

        The loader keeps tables as arrays and builds each DataFrame only when asked
        for it, so a reader of arrays (the feature builder) on one case never pays
        for a DataFrame; for tables given as DataFrames this reads their columns.
        """
        reader = getattr(self.tables, "columns", None)
        if reader is not None:
            return reader(name)
        return frame_columns(self.tables[name])
