"""The power figure against a simulation of the audit's own decision on a known disparity."""

from __future__ import annotations

import numpy as np
import pytest

from fairness.audit import FAIL, judge
from fairness.bootstrap import percentile_interval
from fairness.policy import GatedCheck
from fairness.power import (
    critical_value,
    detectable_calibration_difference,
    detectable_difference,
    detectable_ratio,
)

SAMPLES = 200
RESAMPLES = 200


def _detection_share(n_group: int, n_reference: int, p_reference: float, ratio: float, check: GatedCheck,
                     rule: str, seed: int) -> float:
    """Share of simulated audits that FAIL an FPR-ratio check whose true ratio is ``ratio``.

    Each simulated sample draws the group's and the reference's false positives; the audit's
    percentile bootstrap resamples all rows with replacement, which for the four cells
    (group or reference, flagged or not) is one multinomial draw per resample, vectorised
    over every sample and resample. The interval and the decision are the audit's own
    functions (``percentile_interval``, ``judge``).
    """
    rng = np.random.default_rng(seed)
    flagged_g = rng.binomial(n_group, ratio * p_reference, SAMPLES)
    flagged_r = rng.binomial(n_reference, p_reference, SAMPLES)
    cells = np.stack([flagged_g, n_group - flagged_g, flagged_r, n_reference - flagged_r], axis=1)
    total = n_group + n_reference
    drawn = rng.multinomial(total, cells / total, size=(RESAMPLES, SAMPLES))  # (B, S, 4)
    fpr_g = drawn[..., 0] / np.maximum(drawn[..., 0] + drawn[..., 1], 1)
    fpr_r = drawn[..., 2] / (drawn[..., 2] + drawn[..., 3])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(fpr_r > 0, fpr_g / fpr_r, np.nan)
    low, high = percentile_interval(ratios, 0.95)
    estimate = (flagged_g / n_group) / (flagged_r / n_reference)
    fails = [judge(check, float(v), float(lo), float(hi), rule) == FAIL
             for v, lo, hi in zip(estimate, low, high, strict=True)]
    return float(np.mean(fails))


@pytest.mark.parametrize(
    ("rule", "n_group", "n_reference", "p_reference"),
    [("confident_breach", 1500, 5000, 0.03), ("point_estimate", 400, 3000, 0.05)],
)
def test_fairness_power_figure_matches_simulated_detection(rule, n_group, n_reference, p_reference):
    check = GatedCheck(metric="fpr_ratio", lower=0.8, upper=1.25)
    z = critical_value(rule, 0.95, has_intervals=True)
    low, high = detectable_ratio(np.array([p_reference]), np.array([n_group]), np.array([n_reference]),
                                 check.lower, check.upper, z)
    assert 0 < low[0] < 0.8 and high[0] > 1.25
    # At the stated detectable ratio the audit fails the check in about 80% of samples...
    assert 0.68 <= _detection_share(n_group, n_reference, p_reference, high[0], check, rule, seed=1) <= 0.92
    assert 0.68 <= _detection_share(n_group, n_reference, p_reference, low[0], check, rule, seed=2) <= 0.92
    # ...and, when a failure needs a confident breach, rarely at a disparity just outside the band.
    if rule == "confident_breach":
        assert _detection_share(n_group, n_reference, p_reference, 1.3, check, rule, seed=3) < 0.3


def test_fairness_power_grows_with_the_sample_and_is_none_when_out_of_reach():
    z = critical_value("confident_breach", 0.95, has_intervals=True)
    _, small = detectable_ratio(np.array([0.02]), np.array([200]), np.array([5000]), 0.8, 1.25, z)
    _, large = detectable_ratio(np.array([0.02]), np.array([20000]), np.array([50000]), 0.8, 1.25, z)
    assert large[0] < small[0]
    # One false positive expected in the reference: even a group rate of 0 could not be told from the band.
    none, _ = detectable_ratio(np.array([0.001]), np.array([5000]), np.array([1000]), 0.8, 1.25, z)
    assert np.isnan(none[0])
    # A reference rate of 0 gives no figure; without intervals (or under point_estimate) z is 0.
    assert np.isnan(detectable_ratio(np.array([0.0]), np.array([100]), np.array([100]), 0.8, 1.25, z)[1][0])
    assert critical_value("confident_breach", 0.95, has_intervals=False) == 0.0
    assert critical_value("point_estimate", 0.95, has_intervals=True) == 0.0


def test_fairness_power_differences_and_calibration_lie_beyond_the_band():
    z = critical_value("confident_breach", 0.95, has_intervals=True)
    low, high = detectable_difference(np.array([0.03]), np.array([1000]), np.array([4000]), -0.01, 0.01, z)
    assert low[0] < -0.01 and high[0] > 0.01
    low, high = detectable_calibration_difference(np.array([0.03]), np.array([0.03]), np.array([1000]),
                                                  np.array([4000]), -0.02, 0.02, z)
    spread = np.sqrt(0.03 * 0.97 / 1000 + 0.03 * 0.97 / 4000)
    assert high[0] == pytest.approx(0.02 + (z + 0.8416) * spread, rel=1e-3)
    assert low[0] == pytest.approx(-high[0], rel=1e-9)
    with pytest.raises(ValueError, match="power"):
        detectable_ratio(np.array([0.1]), np.array([10]), np.array([10]), 0.8, 1.25, z, power=1.0)
