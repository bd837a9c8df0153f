"""Ten risk bands from the deciles of the model's reference distribution.

The reference population is the test period of the model's training run
(``RiskModel.reference_probabilities_``: sorted calibrated probabilities).
Nine cut-offs are the 10th..90th percentiles of it; band 1 holds the lowest
tenth of the reference population and band 10 the highest tenth, as
practitioners know from decile-based tools. A probability equal to a cut-off
goes to the higher band. The percentile within the reference population is
the RiskModel's own (:meth:`runtime.risk_model.RiskModel.percentile`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

N_BANDS = 10
ERR_REFERENCE = "reference probabilities must be a non-empty 1-D array of finite values in [0, 1]"


class RiskBands:
    """Band lookup against a fixed reference distribution.

    Parameters
    ----------
    reference : array-like of float
        Calibrated probabilities of the reference population (any order).
    """

    def __init__(self, reference: ArrayLike) -> None:
        values = np.asarray(reference, dtype="float64")
        if (
            values.ndim != 1
            or values.size == 0
            or not np.all(np.isfinite(values))
            or values.min() < 0
            or values.max() > 1
        ):
            raise ValueError(ERR_REFERENCE)
        self.reference_size = values.size
        self.cutoffs = np.quantile(values, np.arange(1, N_BANDS) / N_BANDS)

    def band(self, probability: ArrayLike) -> np.ndarray:
        """Band 1..10 of each probability."""
        return np.searchsorted(self.cutoffs, np.asarray(probability), side="right") + 1

    def describe(self) -> list[dict[str, float | int | None]]:
        """One entry per band: band, lower (inclusive) and upper (exclusive) probability."""
        edges = [None, *self.cutoffs.tolist(), None]
        return [
            {"band": i + 1, "lower": edges[i], "upper": edges[i + 1]} for i in range(N_BANDS)
        ]
