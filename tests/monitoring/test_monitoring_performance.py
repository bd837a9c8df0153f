"""Performance and calibration alerts weigh the training figures' uncertainty as well as the period's.

The false alert of the 500,000-person benchmark, at small scale: training's
AUC comes from a small test period (few outcomes, a wide interval), the
monitoring period is large (a narrow one). Realised AUC sits more than the
policy's drop below training's point estimate, confidently by the period's
own interval alone, yet well within what training's interval allows: no
alert. A real fall, and a real change in calibration, still alert.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from monitoring.outcomes import ALERT, OK, auc_interval, outcome_counts, performance
from monitoring.policy import load_policy

POLICY = load_policy().performance
N_BANDS = 10


def _population(n: int, prevalence: float, separation: float, seed: int, scale: float = 1.0):
    """Outcomes, and probabilities whose AUC is about Phi(separation / sqrt 2), calibrated up to ``scale``."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(float)
    score = rng.normal(separation * y, 1.0)
    probability = expit(np.log(prevalence / (1 - prevalence)) + score - separation / 2)
    probability = probability * (prevalence / probability.mean()) / scale
    return y, probability


def _bands(probability: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.quantile(reference, np.arange(1, N_BANDS) / N_BANDS), probability, side="right") + 1


@pytest.fixture(scope="module")
def training():
    """A test period of 2,000 people with 44 outcomes: AUC 0.81, known to within about +-0.06."""
    y, p = _population(2000, 0.02, 1.35, seed=2)
    from training.metrics import evaluate

    metrics = evaluate(y, p, top_fractions=[], capacity=100, ece_bins=10)
    return metrics, outcome_counts(y, p, _bands(p, p), N_BANDS), p


def _monitor(training, y, p):
    metrics, counts, reference = training
    return performance("2024-01-01", y, p, _bands(p, reference), N_BANDS, metrics, counts, 100, POLICY)


def test_a_small_training_estimate_does_not_make_a_large_period_alert(training):
    metrics, counts, _ = training
    y, p = _population(300_000, 0.02, 0.9, seed=12)  # AUC 0.74: 0.07 below training's point estimate
    out = _monitor(training, y, p)
    # The conditions of the benchmark's false alert: the realised interval alone lies below the limit.
    assert out["roc_auc_ci"][1] < metrics["roc_auc"] - POLICY.max_auc_drop
    train_low, train_high = auc_interval(metrics["roc_auc"], counts.positives, counts.n - counts.positives,
                                         POLICY.confidence)
    assert train_high - train_low > 0.08, "training's interval is wide"
    assert out["training"]["roc_auc_ci"] == pytest.approx([train_low, train_high])
    assert out["auc_drop_ci"][0] <= POLICY.max_auc_drop < out["auc_drop_ci"][1]
    assert out["auc_status"] == OK


def test_a_real_fall_in_auc_still_alerts(training):
    y, p = _population(300_000, 0.02, 0.2, seed=3)  # AUC about 0.56
    out = _monitor(training, y, p)
    assert out["auc_drop_ci"][0] > POLICY.max_auc_drop
    assert out["auc_status"] == ALERT and out["status"] == ALERT


def test_calibration_is_judged_against_training_with_both_counts(training):
    # 15% more outcomes than predicted in every band: the old absolute 0.01 gap alerted on
    # the top band of a large period; a relative tolerance of 25% against training does not.
    y, p = _population(300_000, 0.02, 1.35, seed=4, scale=1.15)
    out = _monitor(training, y, p)
    top = out["calibration_by_band"][-1]
    assert top["ci_low"] > top["expected"] + 0.01, "outside the old absolute gap"
    assert out["calibration_status"] == OK and out["calibration_failing"] == []
    # Three times as many outcomes as predicted, against about as many at training: with 44 outcomes
    # at training, a change must be large to be sure of (a doubling is not, with both uncertainties).
    y, p = _population(300_000, 0.02, 1.35, seed=5, scale=3.0)
    out = _monitor(training, y, p)
    assert out["calibration_status"] == ALERT
    assert "overall" in out["calibration_failing"] and "band 10" in out["calibration_failing"]
    overall = out["calibration"]
    assert overall["ratio_change"] == pytest.approx(3.0 * 40 / 44, rel=0.1)
    assert overall["ratio_change_ci"][0] > POLICY.calibration_ratio


def test_a_band_without_outcomes_at_training_cannot_alert(training):
    metrics, counts, reference = training
    y, p = _population(300_000, 0.02, 1.35, seed=6, scale=1.5)
    out = _monitor(training, y, p)
    few = [b for b in out["calibration_by_band"] if b["training_outcomes"] <= 1]
    assert few, "the lowest bands had at most one outcome at training"
    assert all(b["status"] == OK for b in few)
