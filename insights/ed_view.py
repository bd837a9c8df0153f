"""The ED's view: how much serious violence is seen only in ED records.

An ED assault episode is *ED-only* when no police serious-violence row exists for
the same person on the same day (episodes.py). Shares are published with the
disclosure rules: both counts protected, no share for a suppressed count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from extract.contract import age_band
from extract.disclosure import protect_table
from insights.episodes import ages_at

NOT_RECORDED = "not_recorded"


@dataclass
class EdResult:
    overall: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _breakdown(ed: pd.DataFrame, key: pd.Series, name: str, threshold: int, group: str | None = None) -> pd.DataFrame:
    labels = key.fillna(NOT_RECORDED).astype(str)
    frame = pd.DataFrame({name: labels, "ed_only": ~ed["in_police"].to_numpy()})
    if group:
        frame[group] = ed[group].to_numpy()
    keys = [name] + ([group] if group else [])
    table = frame.groupby(keys, sort=True).agg(ed_episodes=("ed_only", "size"), ed_only_episodes=("ed_only", "sum"))
    table = table.reset_index()
    table["ed_only_episodes"] = table["ed_only_episodes"].astype(np.int64)
    # Both counts are protected; the share is shown only where both are published.
    # ED-only and the police-also remainder are both protected: either follows from the other.
    published = protect_table(table, "ed_only_episodes", threshold, denominator="ed_episodes", rate="ed_only_share",
                              per=1.0, group=group, total=group is None, complement=True)
    return published


def ed_view(episodes: pd.DataFrame, *, threshold: int, has_area: bool, has_weapon: bool) -> EdResult:
    """Share of ED assault episodes never in police records, overall and by age, weapon, area."""
    ed = episodes.loc[episodes["in_ed"]].reset_index(drop=True)
    n, only = len(ed), int((~ed["in_police"]).sum())
    shown = n >= threshold and only >= threshold and n - only >= threshold
    overall = {
        "ed_episodes": n if n >= threshold else None,
        "ed_only_episodes": only if shown else None,
        "ed_only_share": only / n if shown and n else None,
    }
    result = EdResult(overall=overall)
    if n == 0:
        return result
    result.tables["by_age_band"] = _breakdown(ed, age_band(ages_at(ed)), "age_band", threshold)
    if has_weapon:
        result.tables["by_weapon"] = _breakdown(ed, ed["ed_weapon"], "weapon", threshold)
    result.tables["by_local_authority"] = _breakdown(ed, ed["local_authority"], "local_authority", threshold)
    if has_area:
        by_area = _breakdown(ed, ed["area_code"], "area_code", threshold, group="local_authority")
        result.tables["by_area"] = by_area.dropna(subset=["ed_episodes"]).reset_index(drop=True)
    return result
