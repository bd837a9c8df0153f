"""How every surface says a score in words: absolute risk and factor sizes.

One place for the API, ``svrisk score``, ``svrisk serve --example`` and the
practitioners' pages (runtime is the lowest layer all of them may import):

- :func:`natural_frequency`: the calibrated probability as "about 3 in 1,000
  young people with records like these are recorded as involved within 12
  months; 997 are not". A practitioner reads a relative band ("band 9 of 10")
  as high risk; the natural frequency says how rare the outcome still is.
- :func:`format_points`: a contribution (probability points, 0-1 scale) in
  percentage points at :data:`DISPLAY_DECIMALS`, the display precision. A
  factor that rounds to zero there is not shown anywhere (:func:`shows`), and
  :func:`other_factors_sentence` says how little the unshown ones moved the score.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np

# Factor sizes are shown in percentage points with this many decimals, on every surface.
DISPLAY_DECIMALS = 2
DISPLAY_STEP = 10.0**-DISPLAY_DECIMALS  # the smallest shown size, in percentage points
# Denominators for natural frequencies, smallest first: the first that gives at least
# MIN_COUNT people is used ("about 3 in 1,000", not "about 0 in 100" or "30 in 10,000").
DENOMINATORS = (100, 1_000, 10_000)
MIN_COUNT = 2
DEFAULT_HORIZON_DAYS = 365

NATURAL_FREQUENCY = (
    "about {count} in {denominator:,} young people with records like these are recorded as involved "
    "{window}; {others:,} {verb} not"
)
FEWER_THAN_ONE = (
    "fewer than 1 in {denominator:,} young people with records like these are recorded as involved {window}"
)
OTHER_FACTORS = "no other factor moved the score by more than {points} percentage points"
ERR_PROBABILITY = "probability must be a number between 0 and 1, got {value!r}"


class NaturalFrequency(TypedDict):
    """A probability as people out of a round number: ``count`` in ``denominator`` are involved."""

    count: int
    denominator: int
    not_involved: int
    sentence: str


def natural_frequency(probability: float, horizon_days: int | None = DEFAULT_HORIZON_DAYS) -> NaturalFrequency:
    """The calibrated probability as a natural frequency.

    Parameters
    ----------
    probability : float
        Calibrated probability, 0 to 1.
    horizon_days : int or None
        The outcome window (365: "within 12 months"); None when unknown (a
        feature-table model): "in the outcome window".

    Returns
    -------
    NaturalFrequency
        ``count`` of ``denominator`` young people (100, 1,000 or 10,000: the
        smallest that shows at least 2 people; 10,000 below that), the rest
        ``not_involved``, and the sentence. A probability under 0.5 in 10,000
        is "fewer than 1 in 10,000" (count 0).
    """
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        raise ValueError(ERR_PROBABILITY.format(value=probability))
    window = _window(horizon_days)
    denominator = next((d for d in DENOMINATORS if _round_half_up(probability * d) >= MIN_COUNT), DENOMINATORS[-1])
    count = _round_half_up(probability * denominator)
    if count == 0:
        sentence = FEWER_THAN_ONE.format(denominator=denominator, window=window)
    else:
        others = denominator - count
        sentence = NATURAL_FREQUENCY.format(
            count=count, denominator=denominator, window=window, others=others, verb="is" if others == 1 else "are"
        )
    return NaturalFrequency(count=count, denominator=denominator, not_involved=denominator - count, sentence=sentence)


def _window(horizon_days: int | None) -> str:
    if horizon_days is None:
        return "in the outcome window"
    if horizon_days == DEFAULT_HORIZON_DAYS:
        return "within 12 months"
    return f"within {horizon_days} days"


def _round_half_up(value: float) -> int:
    # Python's round() goes to the even neighbour (2.5 -> 2); people expect 3.
    return int(math.floor(value + 0.5))


def display_points(contribution: float) -> float:
    """A contribution (0-1 scale) in percentage points, rounded to the display precision."""
    return round(100.0 * contribution, DISPLAY_DECIMALS)


def shows(contribution: float) -> bool:
    """Whether a contribution is visible at the display precision (does not round to 0)."""
    return display_points(contribution) != 0.0


def format_points(contribution: float) -> str:
    """``+0.07 percentage points``: a contribution as every surface shows it."""
    return f"{display_points(contribution):+.{DISPLAY_DECIMALS}f} percentage points"


def other_factors_sentence(largest_unshown: float) -> str:
    """How much, at most, any factor not listed moved the score.

    ``largest_unshown`` is the largest absolute contribution (0-1 scale) among the
    groups not listed; it is rounded up to the display step (at least one step),
    so the sentence is always true ("no other factor moved the score by more
    than 0.01 percentage points").
    """
    return other_factors_sentences(np.array([largest_unshown]))[0]


def other_factors_sentences(largest_unshown: np.ndarray) -> list[str]:
    """:func:`other_factors_sentence` for many cases at once (each distinct size worded once)."""
    # Rounded before the ceiling, so 0.03 points held as 0.030000000000000002 stays 0.03.
    steps = np.maximum(1, np.ceil(np.round(100.0 * np.abs(largest_unshown) / DISPLAY_STEP, 9))).astype(int)
    worded = {s: OTHER_FACTORS.format(points=f"{s * DISPLAY_STEP:.{DISPLAY_DECIMALS}f}") for s in set(steps.tolist())}
    return [worded[s] for s in steps.tolist()]
