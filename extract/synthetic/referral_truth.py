"""Exact involvement probabilities for referral cohort rows.

A referral on day r in annual window k has an outcome window [r, r + 365)
that straddles the rest of window k and the start of window k + 1. The
generator keeps it exact by design:

* whether a person is referred in window k, the referral date (uniform over
  [s_k, s_{k+1})) and its source depend only on the state at s_k, so they are
  independent of window k's involvement given that state;
* in window k the single incident day t_k (true case) or false-record day is
  drawn over [s_k, s_k + 365) with the monthly seasonality of seasons.py,
  independently of everything else, and every qualifying record of the window
  carries that one day (so the shares below are seasonal, not day counts);
* window k + 1's probabilities depend on window k's outcome only through the
  two indicators I_k (true involvement, latent) and E_k (recorded involvement).

The probability returned conditions on: the generator's state at s_k, the
referral date, whether window k's recorded involvement already showed before r
(the only part of window k's outcome visible at r), and the state at s_{k+1}
other than window k's outcome (the next window's linear predictor without its
I_k and E_k terms). The four possible (I_k, E_k) outcomes are mixed exactly, so
the probability is exact, and calibrated, given that information. It is an
oracle in one respect: the state between r and s_{k+1} (for example a later
suspension) is treated as known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NextWindow:
    """Window k + 1 probabilities for each (I_k, E_k), as arrays over the referrals.

    ``true[(i, e)]`` is P(true involvement in window k + 1 | I_k = i, E_k = e) and
    ``recorded[(i, e)]`` the matching recorded-involvement probability.
    """

    true: dict[tuple[int, int], np.ndarray]
    recorded: dict[tuple[int, int], np.ndarray]


def referral_probabilities(
    p: np.ndarray,
    q: np.ndarray,
    f: np.ndarray,
    seen_before: np.ndarray,
    after_share: np.ndarray,
    next_share: np.ndarray,
    nxt: NextWindow,
) -> tuple[np.ndarray, np.ndarray]:
    """True and recorded probability of involvement in [r, r + 365).

    Parameters
    ----------
    p, q, f : ndarray
        Window k: P(true involvement), P(record | case), P(record | non-case).
    seen_before : ndarray of bool
        Window k's recorded involvement is dated before r.
    after_share : ndarray
        P(window k's incident day is on or after r).
    next_share : ndarray
        P(window k + 1's incident day is before r + 365).
    nxt : NextWindow
        Window k + 1 probabilities by window k's outcome.
    """
    a1, a2 = after_share, next_share
    seen = seen_before
    # Window k scenarios given what is visible at r:
    # (I_k, E_k, true incident on/after r, recorded on/after r, weight)
    recorded_k = p * q + (1.0 - p) * f
    unseen_norm = 1.0 - recorded_k * (1.0 - a1)
    scenarios = [
        (1, 1, 0, 0, np.where(seen, p * q / np.where(seen, recorded_k, 1.0), 0.0)),
        (0, 1, 0, 0, np.where(seen, (1.0 - p) * f / np.where(seen, recorded_k, 1.0), 0.0)),
        (1, 1, 1, 1, np.where(seen, 0.0, p * q * a1 / unseen_norm)),
        (1, 0, 1, 0, np.where(seen, 0.0, p * (1.0 - q) * a1 / unseen_norm)),
        (1, 0, 0, 0, np.where(seen, 0.0, p * (1.0 - q) * (1.0 - a1) / unseen_norm)),
        (0, 1, 0, 1, np.where(seen, 0.0, (1.0 - p) * f * a1 / unseen_norm)),
        (0, 0, 0, 0, np.where(seen, 0.0, (1.0 - p) * (1.0 - f) / unseen_norm)),
    ]
    none_true = np.zeros_like(p)
    none_recorded = np.zeros_like(p)
    for i, e, true_after, recorded_after, weight in scenarios:
        if not true_after:
            none_true += weight * (1.0 - nxt.true[(i, e)] * a2)
        if not recorded_after:
            none_recorded += weight * (1.0 - nxt.recorded[(i, e)] * a2)
    return 1.0 - none_true, 1.0 - none_recorded
