"""Drawing synthetic labels by their shares: shared by the generator and the modules it calls."""

from __future__ import annotations

import numpy as np


def draw_by_shares(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    """Draw ``n`` labels with the given shares (normalised), as an object array."""
    names = np.asarray(list(shares), dtype=object)
    cum = np.cumsum(np.asarray(list(shares.values()), dtype=float))
    cum /= cum[-1]
    return names[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(names) - 1)]
