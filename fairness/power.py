"""What an audit could have seen: the smallest disparity it detects with 80% power.

A check that passes on 60 people says little: a real two-fold disparity could
hide in its interval. For every gated check this module gives the smallest
disparity (on each side of the band) that the audit would have *failed* with
the stated power, at the check's own sample size: the group's and the
reference's denominators (people, people without or with an outcome, flagged
people), the reference group's observed rate, and whether the audit has
bootstrap intervals (``resamples`` > 0) at all.

Method: by formula, a normal approximation of the decision the gate takes.

- Under ``confident_breach`` with intervals, a check fails upwards when its
  interval's lower end lies above the band's upper bound ``U``. For a ratio
  ``p_g / p_r`` the percentile bootstrap puts that end above ``U`` when
  ``p_g - U p_r`` is more than ``z`` standard errors above 0 (``z`` = 1.96
  at 95%), the standard error being ``sqrt(v_g + U^2 v_r)`` with binomial
  variances ``v = p (1 - p) / n`` (Fieller's form). The audit detects the
  true ratio ``R`` with power ``1 - beta`` when
  ``(R - U) p_r / sqrt(v_g(R p_r) + U^2 v_r) >= z + z_power``, solved for
  the smallest such ``R`` by bisection (the left side grows with ``R``).
  Downwards and for differences (``p_g - p_r`` against the band) likewise.
- Under ``point_estimate``, or without intervals, a check fails when its
  estimate lies outside the band: ``z`` is 0.
- ``calibration_difference`` compares mean (score - outcome) between groups;
  its variance per person is taken as ``base_rate (1 - base_rate)``, an upper
  bound for a calibrated score, so the figure errs on the side of "could not
  have seen less".

The figure is checked against a simulation of the bootstrap decision in
tests/fairness/test_fairness_power.py. A side that no disparity within the
possible rates reaches is NaN ("none detectable").
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

POWER = 0.8
METHOD = (
    "formula: normal approximation of the gate's decision (Fieller's form for ratios, binomial variances "
    "at the detectable rate), {power:.0%} power, {detail}"
)
BISECTION_STEPS = 60
BAD_POWER = "power must lie strictly between 0 and 1, got {value}"


def critical_value(decision_rule: str, confidence: float, has_intervals: bool) -> float:
    """How many standard errors beyond the band the estimate must lie for the check to fail."""
    if decision_rule == "point_estimate" or not has_intervals:
        return 0.0
    # The two-sided interval's end lies beyond the band: one tail of (1 - confidence) / 2.
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def method_text(decision_rule: str, confidence: float, has_intervals: bool, power: float = POWER) -> str:
    """The method, in words, for the report."""
    if decision_rule == "point_estimate" or not has_intervals:
        detail = "the check fails when its estimate lies outside the band"
    else:
        detail = f"the check fails when its whole {confidence:.0%} interval lies outside the band"
    return METHOD.format(power=power, detail=detail)


def _binomial_variance(rate: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, rate * (1.0 - rate) / n, np.inf)


def _bisect(statistic, low: np.ndarray, high: np.ndarray, target: float, increasing: bool) -> np.ndarray:
    """Per element, the point in [low, high] where ``statistic`` crosses ``target`` (NaN if never).

    ``increasing``: the statistic grows from low to high and the smallest
    crossing is wanted; otherwise it shrinks and the largest is wanted.
    """
    low, high = np.broadcast_arrays(np.asarray(low, dtype=float), np.asarray(high, dtype=float))
    low, high = low.copy(), high.copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reachable = statistic(high if increasing else low) >= target
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2.0
            above = statistic(middle) >= target
            if increasing:
                high = np.where(above, middle, high)
                low = np.where(above, low, middle)
            else:
                low = np.where(above, middle, low)
                high = np.where(above, high, middle)
    answer = high if increasing else low
    return np.where(reachable & (high >= low), answer, np.nan)


def _needed(z: float, power: float) -> float:
    if not 0.0 < power < 1.0:
        raise ValueError(BAD_POWER.format(value=power))
    return z + NormalDist().inv_cdf(power)


def _detectable_rate_disparity(
    as_ratio: bool,
    reference_rate: np.ndarray,
    n_group: np.ndarray,
    n_reference: np.ndarray,
    lower: float | None,
    upper: float | None,
    z: float,
    power: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The detectable disparity on each side of the band, for a ratio or a difference of two rates.

    At a band edge ``e`` the gate compares the group's rate with ``e p_r``
    (ratio) or ``p_r + e`` (difference); the statistic is the gap between the
    two over its standard error, binomial at the disparity being detected.
    """
    need = _needed(z, power)
    p_r = np.asarray(reference_rate, dtype=float)
    n_g, n_r = np.asarray(n_group, dtype=float), np.asarray(n_reference, dtype=float)
    v_r = _binomial_variance(p_r, n_r)
    nan = np.full(np.broadcast(p_r, n_g, n_r).shape, np.nan)

    def statistic_for(edge: float, sign: float):
        target, target_variance = (edge * p_r, edge**2 * v_r) if as_ratio else (p_r + edge, v_r)

        def statistic(disparity: np.ndarray) -> np.ndarray:
            p_g = np.clip(disparity * p_r if as_ratio else p_r + disparity, 0.0, 1.0)
            return sign * (p_g - target) / np.sqrt(_binomial_variance(p_g, n_g) + target_variance)
        return statistic

    usable = np.isfinite(p_r) & (p_r > 0) if as_ratio else np.isfinite(p_r)
    safe = np.where(usable, p_r, 0.5)
    # The disparities the rates allow: a group rate between 0 and 1.
    smallest, largest = (np.zeros_like(nan), 1.0 / safe) if as_ratio else (-safe, 1.0 - safe)
    high = nan if upper is None else _bisect(statistic_for(upper, 1.0), np.full_like(nan, upper), largest, need,
                                             increasing=True)
    low = nan if lower is None else _bisect(statistic_for(lower, -1.0), smallest, np.full_like(nan, lower), need,
                                            increasing=False)
    return np.where(usable, low, np.nan), np.where(usable, high, np.nan)


def detectable_ratio(
    reference_rate: np.ndarray,
    n_group: np.ndarray,
    n_reference: np.ndarray,
    lower: float | None,
    upper: float | None,
    z: float,
    power: float = POWER,
) -> tuple[np.ndarray, np.ndarray]:
    """Largest ratio below the band and smallest above it that the audit detects with ``power``."""
    return _detectable_rate_disparity(True, reference_rate, n_group, n_reference, lower, upper, z, power)


def detectable_difference(
    reference_rate: np.ndarray,
    n_group: np.ndarray,
    n_reference: np.ndarray,
    lower: float | None,
    upper: float | None,
    z: float,
    power: float = POWER,
) -> tuple[np.ndarray, np.ndarray]:
    """Largest difference (group rate - reference rate) below the band and smallest above it, detected with ``power``."""
    return _detectable_rate_disparity(False, reference_rate, n_group, n_reference, lower, upper, z, power)


def detectable_calibration_difference(
    base_rate_group: np.ndarray,
    base_rate_reference: np.ndarray,
    n_group: np.ndarray,
    n_reference: np.ndarray,
    lower: float | None,
    upper: float | None,
    z: float,
    power: float = POWER,
) -> tuple[np.ndarray, np.ndarray]:
    """The calibration differences beyond the band detected with ``power`` (variance ``p (1 - p)`` per person)."""
    need = _needed(z, power)
    spread = np.sqrt(
        _binomial_variance(np.asarray(base_rate_group, dtype=float), np.asarray(n_group, dtype=float))
        + _binomial_variance(np.asarray(base_rate_reference, dtype=float), np.asarray(n_reference, dtype=float))
    )
    nan = np.full(spread.shape, np.nan)
    high = upper + need * spread if upper is not None else nan
    low = lower - need * spread if lower is not None else nan
    finite = np.isfinite(spread)
    return np.where(finite, low, np.nan), np.where(finite, high, np.nan)
