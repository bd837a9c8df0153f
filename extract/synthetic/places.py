"""Where people live and where serious violence happens in the synthetic extract.

* Areas: synthetic LSOA codes (``E01`` + 6 digits, numbered from 900000 so that no
  code is a real LSOA) within each local authority, one per ``people_per_area``
  synthetic people (about 1,500 residents of whom about 240 are aged 10-24 at a
  snapshot), at least ``min_areas_per_authority``. People are grouped into areas by
  their deprivation decile, so that an area is as homogeneous in deprivation as a
  real LSOA; codes are shuffled so that they reveal nothing.
* Location: an incident happens in the person's home area with probability
  ``home_share``, otherwise in an area of the same authority drawn with a heavy-tailed
  attractiveness (town centres, night-time economy: lognormal with sd
  ``attractiveness_sd``). Together with the deprivation gradient of risk this gives
  the concentration of the evidence sheet (weaker across LSOAs than across street
  segments); the truth states the share in the top 10% of areas and the Gini of the
  *expected* recorded serious-violence episodes per area.

Every draw here uses its own seeded stream (``PLACE_STREAM``), so the generator's
main stream, and every table it wrote before areas existed, are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from extract.concentration import gini, top_share

PLACE_STREAM = 16  # spawn key of the places stream: np.random.default_rng([seed, PLACE_STREAM])
FIRST_CODE = 900_000


@dataclass(frozen=True)
class PlaceParameters:
    """Areas and where incidents happen (see the module docstring)."""

    people_per_area: int = 350
    min_areas_per_authority: int = 4
    home_share: float = 0.5
    attractiveness_sd: float = 1.3
    police_area_missing_share: float = 0.02  # location not recorded
    ed_area_missing_share: float = 0.12  # patient did not say (Cardiff Model data are incomplete)


class Places:
    """Areas of one generation run and the expected episodes per area."""

    def __init__(self, params: PlaceParameters, seed: int) -> None:
        self.params = params
        self.rng = np.random.default_rng([seed, PLACE_STREAM])

    def assign(self, local_authority: np.ndarray, imd_decile: np.ndarray) -> np.ndarray:
        """Give everyone a home area; return the people table's ``area_code`` column."""
        rng, pp = self.rng, self.params
        n = len(local_authority)
        self.home = np.empty(n, dtype=np.int64)
        authorities, area_authority, area_decile = [], [], []
        self._authority_areas: dict[str, np.ndarray] = {}
        self._authority_cumulative: dict[str, np.ndarray] = {}
        first = 0
        for name in sorted(set(local_authority.tolist())):
            members = np.nonzero(local_authority == name)[0]
            count = max(pp.min_areas_per_authority, int(round(len(members) / pp.people_per_area)))
            count = min(count, len(members))
            order = members[np.lexsort((rng.random(len(members)), imd_decile[members]))]
            for j, chunk in enumerate(np.array_split(order, count)):
                self.home[chunk] = first + j
                area_decile.append(int(np.median(imd_decile[chunk])))
            areas = np.arange(first, first + count)
            authorities.append(name)
            area_authority += [name] * count
            first += count
            self._authority_areas[name] = areas
        self.n_areas = first
        self.attractiveness = rng.lognormal(0.0, pp.attractiveness_sd, self.n_areas)
        for name, areas in self._authority_areas.items():
            weights = self.attractiveness[areas]
            self._authority_cumulative[name] = np.cumsum(weights) / weights.sum()
        numbers = FIRST_CODE + rng.choice(1_000_000 - FIRST_CODE, self.n_areas, replace=False)
        self.codes_by_index = np.asarray([f"E01{k:06d}" for k in numbers], dtype=object)
        self.area_authority = np.asarray(area_authority, dtype=object)
        self.area_decile = np.asarray(area_decile, dtype=np.int64)
        self.person_authority = np.asarray(local_authority, dtype=object)
        self.expected = np.zeros(self.n_areas)
        return self.codes_by_index[self.home]

    def codes(self, area: np.ndarray, missing_share: float) -> np.ndarray:
        """Area codes for area indices, None for a share where the place was not recorded."""
        codes = self.codes_by_index[np.asarray(area, dtype=np.int64)].astype(object)
        codes[self.rng.random(len(codes)) < missing_share] = None
        return codes

    def draw_areas(self, person: np.ndarray) -> np.ndarray:
        """Area index of each incident: home, or an attractive area of the same authority."""
        person = np.asarray(person, dtype=np.int64)
        area = self.home[person].copy()
        away = self.rng.random(len(person)) >= self.params.home_share
        u = self.rng.random(len(person))
        authority = self.person_authority[person]
        for name, cumulative in self._authority_cumulative.items():
            pick = away & (authority == name)
            index = np.minimum(np.searchsorted(cumulative, u[pick], side="right"), len(cumulative) - 1)
            area[pick] = self._authority_areas[name][index]
        return area

    def accumulate(self, recorded_probability: np.ndarray, within_extract: float = 1.0) -> None:
        """Add one window's expected recorded episodes (one per recorded involvement) per area."""
        h = self.params.home_share
        rate = np.asarray(recorded_probability, dtype=float) * within_extract
        self.expected += h * np.bincount(self.home, weights=rate, minlength=self.n_areas)
        for name, areas in self._authority_areas.items():
            total = rate[self.person_authority == name].sum()
            weights = self.attractiveness[areas]
            self.expected[areas] += (1.0 - h) * total * weights / weights.sum()

    def areas_frame(self) -> pd.DataFrame:
        """One row per area: code, authority, deprivation decile, attractiveness, expected episodes."""
        return pd.DataFrame(
            {
                "area_code": self.codes_by_index,
                "local_authority": self.area_authority,
                "imd_decile": self.area_decile,
                "residents": np.bincount(self.home, minlength=self.n_areas),
                "attractiveness": self.attractiveness,
                "expected_episodes": self.expected,
            }
        ).sort_values("area_code", ignore_index=True)

    def truth(self) -> dict:
        return {
            "areas": int(self.n_areas),
            "top_10pct_share": top_share(self.expected, 0.10),
            "gini": gini(self.expected),
            "measure": (
                "expected recorded serious-violence episodes per area over every simulated "
                "window (one episode per recorded involvement: its police and ED rows share "
                "one day and one area), so sampling noise is not part of the truth"
            ),
            "home_share": self.params.home_share,
            "attractiveness_sd": self.params.attractiveness_sd,
        }
