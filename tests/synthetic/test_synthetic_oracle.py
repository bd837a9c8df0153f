"""The generator's oracle columns: exact averages over U, no random numbers consumed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from extract.contract import TABLES
from extract.synthetic.generator import (
    ORACLE_COLUMNS,
    TRUTH_COLUMNS,
    _next_window_probabilities,
    _no_next_window,
    generate,
    probability_without_u,
    referral_recorded_without_u,
)
from extract.synthetic.parameters import RiskParameters, parameters_for
from extract.synthetic.referral_truth import referral_probabilities

START, END = "2018-04-01", "2025-03-31"
RISK = RiskParameters()


@pytest.fixture(scope="module")
def pair():
    """The same small extract with and without the oracle columns."""
    return generate(3000, 11, START, END), generate(3000, 11, START, END, oracle_columns=True)


def _expected_auc(probability: np.ndarray, score: np.ndarray) -> float:
    # Each row a positive with weight p and a negative with 1 - p: the AUC expected over
    # the outcome's randomness, so the comparison below has no sampling noise.
    n = len(probability)
    labels = np.r_[np.ones(n), np.zeros(n)]
    weights = np.r_[probability, 1.0 - probability]
    return float(roc_auc_score(labels, np.r_[score, score], sample_weight=weights))


def test_quadrature_matches_monte_carlo():
    lp = np.array([-9.0, -6.5, -4.0, -1.0, 1.5])
    u = np.random.default_rng(0).standard_normal(400_000)
    draws = 1.0 / (1.0 + np.exp(-(lp[:, None] + RISK.u * u[None, :])))
    monte_carlo = draws.mean(axis=1)
    standard_error = draws.std(axis=1) / np.sqrt(len(u))
    exact = probability_without_u(lp, RISK.u)
    assert np.all(np.abs(exact - monte_carlo) < 4 * standard_error)
    # Jensen: averaging a convex (low lp) sigmoid over U raises it.
    assert exact[0] > 1.0 / (1.0 + np.exp(9.0))
    np.testing.assert_allclose(exact, probability_without_u(lp, RISK.u, nodes=60), rtol=1e-11)


@pytest.mark.parametrize("has_next", [True, False])
def test_referral_average_matches_monte_carlo(has_next):
    """The product rule over (U_k, U_{k+1}) equals averaging referral_probabilities over draws."""
    rows = 4
    lp = np.array([-5.0, -3.5, -6.0, -2.5])
    next_base = np.array([-4.5, -3.0, -6.5, -2.0]) if has_next else None
    in_cohort = np.array([True, True, False, True])
    q = np.array([0.15, 0.3, 0.2, 0.5])
    f = np.array([0.001, 0.002, 0.0005, 0.01])
    seen = np.array([False, True, False, False])
    after = np.array([0.7, 0.4, 0.2, 0.9])
    nxt_share = (1.0 - after) if has_next else np.zeros(rows)
    exact = referral_recorded_without_u(
        RISK, lp, next_base, in_cohort if has_next else None, q, f, seen, after, nxt_share
    )
    rng = np.random.default_rng(1)
    draws = 100_000
    rho = RISK.u_autocorrelation
    u_k = rng.standard_normal(draws)
    u_next = rho * u_k + np.sqrt(1 - rho**2) * rng.standard_normal(draws)
    for row in range(rows):
        # Row `row` repeated once per draw.
        q_row, f_row = np.full(draws, q[row]), np.full(draws, f[row])
        p = 1.0 / (1.0 + np.exp(-(lp[row] + RISK.u * u_k)))
        if has_next:
            base = next_base[row] + RISK.u * u_next
            nxt = _next_window_probabilities(RISK, base, np.full(draws, in_cohort[row]), q_row, f_row)
        else:
            nxt = _no_next_window(draws)
        _, recorded = referral_probabilities(
            p, q_row, f_row, np.full(draws, seen[row]), np.full(draws, after[row]),
            np.full(draws, nxt_share[row]), nxt,
        )
        # A referral whose window-k record showed before it and no later window: exactly 0.
        assert abs(exact[row] - recorded.mean()) < 4 * recorded.std() / np.sqrt(draws) + 1e-12


def test_oracle_columns_leave_everything_else_unchanged(pair):
    plain, oracle = pair
    assert tuple(plain.truth.columns) == TRUTH_COLUMNS
    assert tuple(oracle.truth.columns) == TRUTH_COLUMNS + ORACLE_COLUMNS
    pd.testing.assert_frame_equal(plain.truth, oracle.truth[list(TRUTH_COLUMNS)])
    for name in TABLES:
        pd.testing.assert_frame_equal(plain.frames[name], oracle.frames[name])


def test_oracle_columns_are_probabilities_below_the_full_oracle(pair):
    truth = pair[1].truth
    assert set(truth["kind"]) == {"snapshot", "referral"}
    for col in ORACLE_COLUMNS:
        assert truth[col].between(0.0, 1.0).all() and truth[col].notna().all()
    for kind, rows in truth.groupby("kind"):
        recorded = rows["recorded_probability"].to_numpy()
        columns = ("recorded_probability", *ORACLE_COLUMNS)
        aucs = [_expected_auc(recorded, rows[col].to_numpy()) for col in columns]
        # No score ranks better than recorded_probability itself; U alone is worth about 0.01.
        assert aucs[0] - aucs[1] > 0.004, (kind, aucs)
        assert max(aucs[1:]) < aucs[0]
    snap = truth[truth["kind"] == "snapshot"]
    # Over everyone U is N(0, 1), so averaging it out leaves the mean nearly where it was.
    without_u = snap["recorded_probability_without_u"].mean()
    assert without_u == pytest.approx(snap["recorded_probability"].mean(), rel=0.1)


def test_columns_equal_the_oracle_when_nothing_is_hidden():
    """No U effect, no true-involvement terms, every ACE recorded at onset, no recording bias:
    each reference must reproduce recorded_probability (snapshots and referrals)."""
    base = parameters_for("none")
    params = replace(
        base,
        risk=replace(base.risk, u=0.0, true_previous_window=0.0, true_earlier=0.0),
        adversity=replace(
            base.adversity,
            recorded_share={item: 1.0 for item in base.adversity.recorded_share},
            record_delay_days_max=0,
        ),
    )
    truth = generate(1500, 2, START, END, parameters=params, oracle_columns=True).truth
    assert (truth["kind"] == "referral").sum() > 20
    for col in ORACLE_COLUMNS:
        np.testing.assert_allclose(truth[col], truth["recorded_probability"], rtol=1e-10, atol=1e-15)


def test_without_recording_bias_the_ethnicity_average_changes_nothing():
    truth = generate(800, 3, START, END, recording_bias="none", oracle_columns=True).truth
    np.testing.assert_allclose(
        truth["recorded_probability_without_u_ethnicity"], truth["recorded_probability_without_u"], rtol=1e-12
    )


def test_ethnicity_average_lowers_black_rows_and_raises_the_rest(pair):
    synthetic = pair[1]
    snap = synthetic.truth[synthetic.truth["kind"] == "snapshot"]
    people = synthetic.frames["people"].set_index("person_id")
    ethnicity = people.loc[snap["person_id"], "ethnicity"].astype(str)
    black = (ethnicity == "black").to_numpy()
    ratio = snap["recorded_probability_without_u_ethnicity"] / snap["recorded_probability_without_u"]
    assert (ratio[black] < 1).all() and (ratio[~black] > 1).all()
