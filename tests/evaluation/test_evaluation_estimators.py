"""Estimator units on simulated data with a known effect, and the E-value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.estimators import (
    Match,
    e_value,
    fit_prognostic,
    fit_propensity,
    matching_variance,
    normal_interval,
    person_resample,
    point_estimates,
    prognostic_match,
    rosenbaum_bound,
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


def test_person_resample_keeps_a_persons_referrals_together():
    groups = np.array([0, 0, 1, 2, 2, 2])
    idx = person_resample(groups, 3, np.random.default_rng(1))
    drawn = np.bincount(groups[idx], minlength=3) / np.bincount(groups)
    assert np.all(drawn == np.round(drawn))  # every person brings all their rows, or none
    assert drawn.sum() == 3  # as many people as there are


def test_matching_variance_by_hand_and_with_clusters():
    t = np.array([1, 1, 0, 0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    mu0 = np.array([0.5, 0.5, 0.25, 0.5])
    match = Match(np.array([True, True]), np.array([0, 1]), np.array([2, 2]), effect=0.0)
    # Engaged terms 0.5 and -0.5; the reused partner's term -2 x (0 - 0.25) = 0.5.
    assert matching_variance(match, t, y, mu0, np.arange(4)) == pytest.approx((0.25 + 0.25 + 0.25) / 4)
    # The same people, the first engaged and the partner being one person: their terms add first.
    assert matching_variance(match, t, y, mu0, np.array([0, 1, 0, 2])) == pytest.approx((1.0 + 0.25) / 4)


def test_matching_interval_covers_the_true_effect():
    """The Abadie-Imbens interval on the true prognostic score covers the ATT in about 95% of samples."""
    covered, reps = 0, 300
    for seed in range(reps):
        x, t, y, p0 = _simulated(n=1500, effect=-0.1, seed=seed)
        match = prognostic_match(np.log(p0 / (1 - p0)), t, y, caliper_sd=0.2)
        variance = matching_variance(match, t, y, p0, np.arange(len(t)))
        low, high = normal_interval(match.effect, variance, 0.95)
        covered += low <= -0.1 <= high
    assert 0.90 <= covered / reps <= 0.99


def test_rosenbaum_bound_is_where_the_worst_case_p_value_reaches_alpha():
    from scipy.stats import binom

    y = np.array([0.0] * 30 + [1.0] * 10 + [1.0] * 30 + [0.0] * 10)
    match = Match(np.ones(40, bool), np.arange(40), np.arange(40, 80), effect=-0.5)
    bound = rosenbaum_bound(match, y, alpha=0.05)
    assert (bound.favouring, bound.discordant) == (30, 40)
    assert bound.p_value_no_bias == pytest.approx(binom.sf(29, 40, 0.5))
    assert binom.sf(29, 40, bound.gamma / (1 + bound.gamma)) == pytest.approx(0.05, abs=1e-3)
    assert bound.gamma > 1.5
    even = rosenbaum_bound(Match(np.ones(2, bool), np.arange(2), np.arange(2, 4), 0.0), np.array([0, 1, 1, 0.0]))
    assert even.gamma == 1.0  # a 1-1 split is no evidence at all
