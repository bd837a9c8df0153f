"""Estimator units on simulated data with a known effect, and the E-value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.estimators import (
    e_value,
    fit_prognostic,
    fit_propensity,
    point_estimates,
    prognostic_match,
    standardised_mean_differences,
)


def _simulated(n=6000, effect=-0.1, seed=0):
    """Confounded by x: high x engages less and has more events; the ATT is ``effect``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    t = (rng.random(n) < 1 / (1 + np.exp(1.0 * x[:, 0]))).astype(int)
    p0 = 1 / (1 + np.exp(-(-0.5 + 1.2 * x[:, 0])))
    y = (rng.random(n) < np.clip(p0 + effect * t, 0, 1)).astype(float)
    return x, t, y, p0


def test_adjusted_estimators_recover_effect_naive_does_not():
    x, t, y, p0 = _simulated()
    e, _ = fit_propensity(x, t)
    mu0, _ = fit_prognostic(x, t, y)
    est, _ = point_estimates(t, y, e, mu0, caliper_sd=0.2)
    for name in ("ipw", "aipw", "prognostic_matching"):
        assert est[name] == pytest.approx(-0.1, abs=0.04), name
    assert est["naive"] < -0.2  # the engaged are lower risk: naive overstates the benefit


def test_prognostic_match_pairs_nearest_and_respects_caliper():
    score = np.array([0.0, 1.0, 10.0, 0.1, 1.2])
    t = np.array([1, 1, 1, 0, 0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    match = prognostic_match(score, t, y, caliper_sd=0.2)
    assert match.matched.tolist() == [True, True, False]
    assert match.partner.tolist() == [3, 4]
    assert match.effect == pytest.approx(((1 - 0) + (0 - 1)) / 2)


def test_smd_zero_when_weights_balance():
    X = np.array([[0.0], [1.0], [0.0], [1.0], [1.0]])
    t = np.array([1, 1, 0, 0, 0])
    assert standardised_mean_differences(X, t)[0] != 0
    assert standardised_mean_differences(X, t, np.array([1.0, 0.5, 0.5]))[0] == pytest.approx(0.0)


def test_e_value_known_values():
    assert e_value(2.0) == pytest.approx(2 + math.sqrt(2))
    assert e_value(0.5) == pytest.approx(2 + math.sqrt(2))
    assert e_value(1.0) == pytest.approx(1.0)
