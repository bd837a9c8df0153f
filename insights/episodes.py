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

from extract.contract import DEFAULT_OUTCOME, OutcomeDefinition, age_band, age_in_years

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


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(object).where(frame[name].notna(), None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def police_rows(tables: Mapping[str, pd.DataFrame], outcome: OutcomeDefinition = DEFAULT_OUTCOME) -> pd.DataFrame:
    """Police rows that are serious violence: person_id, date, category, weapon, area_code."""
    police = tables["police_contacts"]
    keep = police["role"].isin(outcome.police_roles) & police["category"].isin(outcome.police_categories)
    rows = police.loc[keep]
    return pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy(dtype=object),
            "date": rows["occurred_on"].to_numpy(),
            "category": rows["category"].astype(str).to_numpy(dtype=object),
            "weapon": _column(rows, "weapon").to_numpy(dtype=object),
            "area_code": _column(rows, "area_code").to_numpy(dtype=object),
        }
    )


def ed_rows(tables: Mapping[str, pd.DataFrame], outcome: OutcomeDefinition = DEFAULT_OUTCOME) -> pd.DataFrame:
    """ED assault attendances: person_id, date, weapon, area_code."""
    health = tables["health_events"]
    rows = health.loc[health["event"].isin(outcome.health_events)]
    return pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy(dtype=object),
            "date": rows["occurred_on"].to_numpy(),
            "weapon": _column(rows, "weapon").to_numpy(dtype=object),
            "area_code": _column(rows, "area_code").to_numpy(dtype=object),
        }
    )


def episodes(tables: Mapping[str, pd.DataFrame], outcome: OutcomeDefinition = DEFAULT_OUTCOME) -> pd.DataFrame:
    """One row per (person_id, date): in_police, in_ed, area_code, weapon, ed_weapon, plus the person's
    local_authority, imd_decile, home area_code (``home_area``) and birth_month."""
    police = police_rows(tables, outcome)
    ed = ed_rows(tables, outcome)
    p = police.groupby(["person_id", "date"], sort=False).agg(
        police_area=("area_code", "first"), police_weapon=("weapon", "first")
    )
    e = ed.groupby(["person_id", "date"], sort=False).agg(ed_area=("area_code", "first"), ed_weapon=("weapon", "first"))
    both = p.join(e, how="outer")
    out = pd.DataFrame(
        {
            "person_id": both.index.get_level_values(0).to_numpy(dtype=object),
            "date": both.index.get_level_values(1).to_numpy(),
            "in_police": both.index.isin(p.index),
            "in_ed": both.index.isin(e.index),
            "area_code": both["police_area"].combine_first(both["ed_area"]).to_numpy(dtype=object),
            "weapon": both["police_weapon"].combine_first(both["ed_weapon"]).to_numpy(dtype=object),
            # The ED's own record (its categories include blunt), for the ED's view.
            "ed_weapon": both["ed_weapon"].to_numpy(dtype=object),
        }
    )
    people = tables["people"].set_index("person_id")
    for column in ("local_authority", "imd_decile", "birth_month"):
        out[column] = people[column].reindex(out["person_id"]).to_numpy()
    out["home_area"] = _column(people, "area_code").reindex(out["person_id"]).to_numpy(dtype=object)
    return out


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

