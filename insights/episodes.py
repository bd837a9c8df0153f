"""Serious-violence episodes and the young population, from the contract tables.

An *episode* is one person's recorded serious violence on one day (the contract's
outcome definition: police victim/suspect rows in the serious categories, ED
assault attendances): a police row and an ED row for the same person and day are
one incident seen by both. Its place is the police row's ``area_code``, else the
ED's; its weapon likewise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from extract.contract import age_band, age_in_years
# The episodes themselves are built in extract/episodes.py (the evaluation prices them too).
from extract.episodes import column_or_none as _column

MISSING_AREA = (
    "area codes: the extract has no area_code values ({where}); the place views (rates by "
    "area, concentration, top areas, ED view by area) need contract 1.1's area_code"
)
MISSING_WEAPON = (
    "weapons: the extract has no weapon values ({where}); the knife and firearm series and "
    "the ED view by weapon need contract 1.1's weapon columns"
)


@dataclass(frozen=True)
class Availability:
    """Which contract 1.1 columns carry values, and what is missing and why."""

    has_area: bool
    has_weapon: bool
    missing: tuple[str, ...]


def availability(tables: Mapping[str, pd.DataFrame]) -> Availability:
    """Whether area codes and weapons are present (a 1.0 extract reads with them empty)."""

    def filled(table: str, column: str) -> bool:
        frame = tables.get(table)
        return frame is not None and column in frame.columns and bool(frame[column].notna().any())

    area = filled("police_contacts", "area_code") or filled("health_events", "area_code")
    home = filled("people", "area_code")
    weapon = filled("police_contacts", "weapon") or filled("health_events", "weapon")
    missing = []
    if not (area and home):
        where = ", ".join(
            name for name, ok in (("people", home), ("police_contacts/health_events", area)) if not ok
        )
        missing.append(MISSING_AREA.format(where=where))
    if not weapon:
        missing.append(MISSING_WEAPON.format(where="police_contacts, health_events"))
    return Availability(has_area=area and home, has_weapon=weapon, missing=tuple(missing))


def young_people(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, ages: tuple[int, int] = (10, 24)) -> pd.DataFrame:
    """People aged ``ages`` on ``as_of``: person_id, age, age_band, local_authority, imd_decile, area_code."""
    people = tables["people"]
    age = age_in_years(people["birth_month"], as_of)
    keep = (age >= ages[0]) & (age <= ages[1])
    rows = people.loc[keep]
    return pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy(dtype=object),
            "age": age[keep].to_numpy(),
            "age_band": age_band(age[keep]).to_numpy(dtype=object),
            "local_authority": rows["local_authority"].to_numpy(dtype=object),
            "imd_decile": rows["imd_decile"].to_numpy(),
            "area_code": _column(rows, "area_code").to_numpy(dtype=object),
        }
    )


def in_window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows with start <= date < end."""
    dates = frame["date"]
    return frame.loc[(dates >= start) & (dates < end)].reset_index(drop=True)


def ages_at(frame: pd.DataFrame) -> pd.Series:
    """Age on each episode's date."""
    return age_in_years(pd.Series(frame["birth_month"].to_numpy()), pd.Series(frame["date"].to_numpy()))


def monthly_index(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """First days of the complete months in [start, end)."""
    first = (start + pd.offsets.MonthBegin(0)).normalize() if start.day != 1 else start.normalize()
    last = (end.normalize() - pd.offsets.MonthBegin(1)) if end.day != 1 else end - pd.offsets.MonthBegin(1)
    return pd.date_range(first, last, freq="MS") if last >= first else pd.DatetimeIndex([], freq="MS")


def first_record(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The earliest dated police or health record (when the extract's event history starts)."""
    dates = [tables[t][c].min() for t, c in (("police_contacts", "occurred_on"), ("health_events", "occurred_on"))
             if t in tables and len(tables[t])]
    dates = [d for d in dates if pd.notna(d)]
    return min(dates) if dates else None

