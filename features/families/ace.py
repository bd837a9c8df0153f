"""Adverse childhood experiences: each type ever recorded, the count, 4+ and recent first records."""

from __future__ import annotations

import numpy as np

from extract.contract import ACE_TYPES
from features.point_in_time import DAYS_24_MONTHS, CohortClock, flag

# The evidence (Bellis et al. 2014) uses 4+ ACEs as the high-adversity group.
ACE_HIGH_COUNT = 4


def ace_features(clock: CohortClock) -> dict[str, np.ndarray]:
    """ACE flags per type, ``ace_count`` (0-10), ``ace_4plus`` and ``ace_new_24m``.

    An ACE type counts from the first time any partner recorded it; repeat
    records of the same type add nothing (the count is of types, not records).
    """
    table = clock.table("adversity")
    days, _ = table.days("recorded_on")
    types, lookup = table.category_codes("ace_type")
    codes = table.codes
    # First record of each (person, type): sort by person, type, day and keep the first row.
    order = np.lexsort((days, types, codes))
    codes, days, types = codes[order], days[order], types[order]
    is_first = np.ones(len(codes), dtype=bool)
    is_first[1:] = (codes[1:] != codes[:-1]) | (types[1:] != types[:-1])
    codes, days, types = codes[is_first], days[is_first], types[is_first]

    out: dict[str, np.ndarray] = {}
    count = np.zeros(clock.n)
    for ace_type in ACE_TYPES:
        keep = types == lookup[ace_type]
        # One type's first records are in (person, day) order: the lexsort above sorted them.
        ever = flag(clock.events(codes[keep], days[keep], is_sorted=True).count())
        out[f"ace_{ace_type}"] = ever
        count += ever
    firsts = clock.events(codes, days)
    out["ace_count"] = count
    out["ace_4plus"] = (count >= ACE_HIGH_COUNT).astype(np.float64)
    out["ace_new_24m"] = firsts.count(DAYS_24_MONTHS)
    return out
