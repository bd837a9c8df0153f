"""When serious violence happens in the synthetic extract: monthly seasonality.

Violence treated in emergency departments peaks July to September and is lowest
February to April, and knife crime follows the same summer pattern (evidence sheet,
"Place and season"). The generator draws each window's single incident day with a
day weight equal to its month's multiplier.

The draw keeps the generator's random stream unchanged: the uniform day offset it
has always drawn is mapped through the seasonal quantile function, so the same seed
still gives the same bytes and only the dates move. The referral truth needs
P(incident before a day), which ``SeasonalCalendar.share_before`` gives exactly for
this discrete mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


@dataclass(frozen=True)
class SeasonParameters:
    """Relative incidence of serious violence by calendar month (1 = January).

    Scaled in ``normalised_multipliers`` so that a day-weighted year averages 1. The
    shape follows the evidence sheet's national ED study: highest July-September,
    lowest February-April, a summer peak about 45% above the spring low.
    """

    monthly_multipliers: dict[int, float] = field(
        default_factory=lambda: {
            1: 0.95, 2: 0.84, 3: 0.85, 4: 0.87, 5: 1.00, 6: 1.06,
            7: 1.18, 8: 1.24, 9: 1.14, 10: 1.00, 11: 0.95, 12: 0.96,
        }
    )

    def normalised_multipliers(self) -> dict[int, float]:
        """The multipliers scaled so that their average over a 365-day year is 1."""
        days = np.asarray([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
        raw = np.asarray([self.monthly_multipliers[m] for m in range(1, 13)], dtype=float)
        scale = days.sum() / float((days * raw).sum())
        return {m: float(raw[m - 1] * scale) for m in range(1, 13)}


class SeasonalCalendar:
    """Seasonal incident days for windows of ``length`` days starting on day ``s``."""

    def __init__(self, params: SeasonParameters, length: int) -> None:
        self.params = params
        self.length = length
        multipliers = params.normalised_multipliers()
        self._by_month = np.asarray([multipliers[m] for m in range(1, 13)])
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _map(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(offset for each uniform offset 0..length-1, the same offsets sorted)."""
        if s not in self._maps:
            days = np.arange(s, s + self.length).astype("datetime64[D]")
            month = days.astype("datetime64[M]").astype(np.int64) % 12
            weight = self._by_month[month]
            cumulative = np.cumsum(weight) / weight.sum()
            u = (np.arange(self.length) + 0.5) / self.length
            mapped = np.minimum(np.searchsorted(cumulative, u, side="right"), self.length - 1)
            self._maps[s] = (mapped, np.sort(mapped))
        return self._maps[s]

    def incident_offsets(self, s: int, uniform_offsets: np.ndarray) -> np.ndarray:
        """Seasonal day offsets within the window for uniform draws on 0..length-1."""
        mapped, _ = self._map(s)
        return mapped[np.asarray(uniform_offsets, dtype=np.int64)]

    def share_before(self, s: int, offsets: np.ndarray) -> np.ndarray:
        """P(seasonal incident offset < offset) for the window starting on ``s``."""
        _, ordered = self._map(s)
        return np.searchsorted(ordered, np.asarray(offsets), side="left") / self.length

    def truth(self) -> dict:
        """The true multipliers, by month number and by name, for ``_truth/``."""
        multipliers = self.params.normalised_multipliers()
        ranked = sorted(multipliers, key=multipliers.get, reverse=True)
        return {
            "monthly_multipliers": {MONTH_NAMES[m - 1]: round(v, 6) for m, v in multipliers.items()},
            "peak_months": [MONTH_NAMES[m - 1] for m in sorted(ranked[:3])],
            "lowest_months": [MONTH_NAMES[m - 1] for m in sorted(ranked[-3:])],
            "applies_to": (
                "the day of every recorded serious-violence involvement (police rows with "
                "role victim/suspect and category violence_with_injury, robbery or "
                "weapon_possession, and ED assault attendances); other records are uniform "
                "within their window"
            ),
        }
