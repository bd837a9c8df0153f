"""Drift statistics on tiny frames: PSI (which decides), the effect sizes beside it, missing values, new categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import ALERT, NOT_JUDGED, OK, WARN, input_drift, prepare_reference, psi, score_drift
from monitoring.policy import load_policy
from training.reference import build_reference

DRIFT = load_policy().drift


def _frame(n: int, seed: int, shift: float = 0.0, missing: float = 0.2, new_level: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    attendance = rng.normal(0.9 - shift, 0.05, n)
    attendance[rng.random(n) < missing] = np.nan
    levels = ["none", "sen_support", "ehcp"]
    values = rng.choice(levels, n, p=[0.8, 0.15, 0.05]).astype(object)
    if new_level:
        values[: n // 10] = "unheard_of"
    return pd.DataFrame({
        "attendance": attendance,
        "count": rng.poisson(0.2, n).astype(float),
        "sen": pd.Categorical(values, categories=sorted(set(values))),
    })


@pytest.fixture(scope="module")
def reference():
    X = _frame(5000, seed=1)
    return build_reference(X, np.linspace(0.001, 0.1, len(X)), pd.Series(["2022-04-01"] * len(X)), 365)


def _statuses(X, reference) -> dict[str, object]:
    rows = input_drift(X, prepare_reference(reference), {"attendance": 3.0, "sen": 2.0, "count": 1.0}, "p", DRIFT)
    return {r.input: r for r in rows}


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0.0)
    assert psi(np.array([0.5, 0.5]), np.array([0.4, 0.6])) < psi(np.array([0.5, 0.5]), np.array([0.2, 0.8]))


def test_the_same_population_does_not_drift(reference):
    rows = _statuses(_frame(3000, seed=2), reference)
    assert [r.input for r in rows.values()] == ["attendance", "sen", "count"], "most important first"
    assert all(r.status == OK for r in rows.values())
    assert rows["attendance"].effect_size < 0.05 and rows["attendance"].psi < 0.05


def test_a_shifted_input_alerts_and_only_it(reference):
    rows = _statuses(_frame(3000, seed=3, shift=0.05), reference)
    assert rows["attendance"].status == ALERT
    assert rows["attendance"].effect == "ks" and rows["attendance"].effect_size > 0.3
    assert rows["count"].status == OK and rows["sen"].status == OK


def test_new_categories_and_missing_share_warn(reference):
    rows = _statuses(_frame(3000, seed=4, new_level=True), reference)
    assert rows["sen"].new_categories == ["unheard_of"] and rows["sen"].status in (WARN, ALERT)
    assert rows["sen"].effect == "total_variation" and rows["sen"].effect_size == pytest.approx(0.1, abs=0.02)
    rows = _statuses(_frame(3000, seed=5, missing=0.35), reference)
    assert rows["attendance"].missing_current == pytest.approx(0.35, abs=0.03)
    assert rows["attendance"].status == WARN


def test_small_periods_are_not_judged(reference):
    rows = _statuses(_frame(50, seed=6, shift=0.1), reference)
    assert {r.status for r in rows.values()} == {NOT_JUDGED}


def test_score_drift_and_band_shares(reference):
    same = score_drift(np.linspace(0.001, 0.1, 2000), reference, np.repeat(np.arange(1, 11), 200), 10, "p", DRIFT)
    assert same["status"] == OK and same["band_shares"] == [0.1] * 10
    higher = score_drift(np.linspace(0.05, 0.2, 2000), reference, np.full(2000, 10), 10, "p", DRIFT)
    assert higher["status"] == ALERT and higher["band_shares"][-1] == 1.0


def test_the_psi_decides_whatever_the_sample_size(reference):
    """A tiny shift in a huge period: every p-value would be 0, but the PSI is small, so no finding;
    a large shift alerts on the effect size alone."""
    rows = _statuses(_frame(400_000, seed=7, shift=0.002), reference)
    assert rows["attendance"].status == OK and rows["attendance"].psi < DRIFT.psi_warn
    assert not hasattr(rows["attendance"], "p_value")
    rows = _statuses(_frame(400_000, seed=8, shift=0.05), reference)
    assert rows["attendance"].status == ALERT
