"""Serious-violence episodes from the contract tables, and the violence-with-injury share.

An *episode* is one person's recorded serious violence on one day (the contract's
outcome definition: police victim/suspect rows in the serious categories, ED
assault attendances): a police row and an ED row for the same person and day are
one incident seen by both. Its place is the police row's ``area_code``, else the
ED's; its weapon likewise.

Shared by the needs assessment (insights/) and the impact evaluation (evaluation/),
which sit on one layer and may not import each other: this is the one copy. Both
price episodes at the Home Office cost of a violence-with-injury offence
(extract/unit_costs.py), so both first take the violence-with-injury share.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from extract.contract import DEFAULT_OUTCOME, OutcomeDefinition

VWI_SHARE_ASSUMPTION = (
    "share of recorded serious-violence episodes that are violence with injury: episodes with a "
    "police violence_with_injury row or an ED assault attendance (an injury treated in the ED), "
    "over all episodes in the lookback window"
)


def column_or_none(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` as objects with None for missing, or all None when the column is absent (a 1.0 extract)."""
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
            "weapon": column_or_none(rows, "weapon").to_numpy(dtype=object),
            "area_code": column_or_none(rows, "area_code").to_numpy(dtype=object),
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
            "weapon": column_or_none(rows, "weapon").to_numpy(dtype=object),
            "area_code": column_or_none(rows, "area_code").to_numpy(dtype=object),
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
    out["home_area"] = column_or_none(people, "area_code").reindex(out["person_id"]).to_numpy(dtype=object)
    return out


def violence_with_injury_share(episodes: pd.DataFrame, police_vwi_keys: pd.MultiIndex) -> float:
    """Share of episodes that are violence with injury (see ``VWI_SHARE_ASSUMPTION``)."""
    if len(episodes) == 0:
        return float("nan")
    keys = pd.MultiIndex.from_arrays([episodes["person_id"], episodes["date"]])
    vwi = keys.isin(police_vwi_keys) | episodes["in_ed"].to_numpy()
    return float(vwi.mean())
