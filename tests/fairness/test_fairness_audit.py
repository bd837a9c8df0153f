"""The audit engine against hand-computed confusion matrices, and its bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fairness.audit import (
    BORDERLINE,
    FAIL,
    PASS,
    TOO_SMALL,
    AuditedAttribute,
    count_specs,
    group_codes,
    judge,
    metrics_from_sums,
    run_audit,
)
from fairness.bootstrap import SumSpec, bootstrap_sums, percentile_interval, weighted_sums
from fairness.policy import GatedCheck, load_policy


def _policy(**groups):
    base = load_policy()
    merged = {**base.groups.model_dump(), "reference_groups": {}, "minimum_group_size": 1, "minimum_positives": 0,
              "minimum_expected_events": 0}
    merged.update(groups)
    data = base.model_dump()
    data["groups"] = {**merged, "attributes": ["g"], "intersections": []}
    data["gate"]["checks"] = [
        {"metric": "fpr_ratio", "lower": 0.8, "upper": 1.25},
        {"metric": "calibration_difference", "lower": -0.02, "upper": 0.02},
    ]
    return type(base).model_validate(data)


# Group a: scores .9 .6 .3 .1, labels 1 0 1 0. Group b: .8 .7 .55 .2 .4, labels 1 1 0 0 0.
# Group c: one negative with score .05.
HAND = pd.DataFrame(
    {
        "score": [0.9, 0.6, 0.3, 0.1, 0.8, 0.7, 0.55, 0.2, 0.4, 0.05],
        "label": [1, 0, 1, 0, 1, 1, 0, 0, 0, 0],
        "g": ["a"] * 4 + ["b"] * 5 + ["c"],
    }
)


def _row(result, group, threshold):
    rows = result.rows
    return rows[(rows["group"] == group) & (rows["threshold"] == threshold)].iloc[0]


def test_fairness_hand_computed_confusion_matrices():
    result = run_audit(
        HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.75, 0.5], policy=_policy(), resamples=0
    )
    assert result.thresholds == [0.5, 0.75]
    assert result.references == {"g": "b"}  # the largest group
    a, b = _row(result, "a", 0.5), _row(result, "b", 0.5)
    # a at 0.5: TP 1, FP 1, FN 1, TN 1.
    assert (a["count"], a["positives"], a["flagged"]) == (4, 2, 2)
    assert a["selection_rate"] == 0.5 and a["tpr"] == 0.5 and a["fpr"] == 0.5
    assert a["fnr"] == 0.5 and a["precision"] == 0.5 and a["base_rate"] == 0.5
    assert a["auc"] == pytest.approx(0.75)
    assert a["mean_predicted"] == pytest.approx(0.475)
    assert a["calibration_gap"] == pytest.approx(-0.025)
    # b at 0.5: TP 2, FP 1, FN 0, TN 2.
    assert b["selection_rate"] == pytest.approx(0.6) and b["tpr"] == 1.0
    assert b["fpr"] == pytest.approx(1 / 3) and b["fnr"] == 0.0
    assert b["precision"] == pytest.approx(2 / 3) and b["auc"] == 1.0
    assert b["calibration_gap"] == pytest.approx(0.53 - 0.4)
    # Disparities of a against b.
    assert a["selection_rate_ratio"] == pytest.approx(0.5 / 0.6)
    assert a["fpr_ratio"] == pytest.approx(1.5)
    assert a["tpr_ratio"] == pytest.approx(0.5)
    assert math.isnan(a["fnr_ratio"])  # b misses nobody: the ratio is undefined, not infinite
    assert a["fnr_difference"] == pytest.approx(0.5)
    assert a["calibration_difference"] == pytest.approx(-0.025 - 0.13)
    assert b["fpr_ratio"] == 1.0 and b["is_reference"]
    # a at 0.75: TP 1, FP 0, FN 1, TN 2; b: TP 1, FP 0, FN 1, TN 3.
    a75, b75 = _row(result, "a", 0.75), _row(result, "b", 0.75)
    assert (a75["selection_rate"], a75["tpr"], a75["fpr"], a75["precision"]) == (0.25, 0.5, 0.0, 1.0)
    assert (b75["selection_rate"], b75["tpr"], b75["fpr"], b75["fnr"]) == (0.2, 0.5, 0.0, 0.5)
    # c has no positives: TPR, FNR and AUC are undefined, never 0.
    c = _row(result, "c", 0.5)
    assert math.isnan(c["tpr"]) and math.isnan(c["fnr"]) and math.isnan(c["auc"])
    assert c["fpr"] == 0.0 and c["selection_rate"] == 0.0 and math.isnan(c["precision"])


def test_fairness_checks_follow_the_hand_computed_ratios():
    result = run_audit(
        HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5], policy=_policy(), resamples=0
    )
    by = {(c.metric, c.group): c for c in result.checks}
    fpr_a = by[("fpr_ratio", "a")]
    assert fpr_a.status == FAIL and fpr_a.distance == pytest.approx(0.25)
    assert by[("fpr_ratio", "c")].status == FAIL  # c's FPR is 0 against b's 1/3
    assert by[("calibration_difference", "a")].status == FAIL
    assert not result.passed and len(result.failed) == 4
    assert ("fpr_ratio", "b") not in by  # the reference is not checked against itself


def test_fairness_small_groups_are_listed_never_judged():
    result = run_audit(
        HAND,
        score_col="score",
        label_col="label",
        group_cols=["g"],
        thresholds=[0.5],
        policy=_policy(minimum_group_size=3),
        resamples=0,
    )
    assert [t["group"] for t in result.too_small] == ["c"]
    statuses = {c.status for c in result.checks if c.group == "c"}
    assert statuses == {TOO_SMALL}
    assert _row(result, "c", 0.5)["too_small"]


def test_fairness_reference_group_from_policy_case_fallback_and_override():
    result = run_audit(
        HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
        policy=_policy(reference_groups={"g": "a"}), resamples=0,
    )
    assert result.references == {"g": "a"}
    assert result.attributes[0]["reference_chosen"] == "the policy's reference group"
    assert _row(result, "b", 0.5)["fpr_ratio"] == pytest.approx((1 / 3) / 0.5)
    # The policy's reference matched ignoring case; said so.
    shouting = run_audit(HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                         policy=_policy(reference_groups={"g": "A"}), resamples=0)
    assert shouting.references == {"g": "a"} and "ignoring letter case" in shouting.attributes[0]["reference_chosen"]
    # A policy reference absent from the data: the largest group, said in the report.
    absent = run_audit(HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                       policy=_policy(reference_groups={"g": "zz"}), resamples=0)
    assert absent.references == {"g": "b"}
    assert "the largest group" in absent.attributes[0]["reference_chosen"] and "'zz'" in absent.attributes[0][
        "reference_chosen"]
    # A reference given explicitly overrides the policy, and must exist.
    given = run_audit(HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                      policy=_policy(reference_groups={"g": "a"}), resamples=0, references={"g": "b"})
    assert given.references == {"g": "b"}
    with pytest.raises(ValueError, match="reference group 'zz'"):
        run_audit(HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                  policy=_policy(), resamples=0, references={"g": "zz"})
    with pytest.raises(ValueError, match="not audited"):
        run_audit(HAND, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                  policy=_policy(), resamples=0, references={"h": "a"})


def test_fairness_intersections_combine_labels():
    frame = pd.DataFrame({"sex": ["male", "female", "male", "male"], "eth": ["white", "black", "black", "white"]})
    codes, labels = group_codes(frame, "sex x eth")
    assert [labels[c] for c in codes] == ["male / white", "female / black", "male / black", "male / white"]
    numeric = pd.DataFrame({"imd": [3.0, np.nan, 10.0, 3.0]})
    codes, labels = group_codes(numeric, "imd")
    assert labels == ["3", "10", "missing"]
    assert [labels[c] for c in codes] == ["3", "missing", "10", "3"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (HAND.drop(columns="label"), "column 'label' is not in the scores"),
        (HAND.assign(score=["x"] + [0.1] * 9), "must be numeric; row 1 holds 'x'"),
        (HAND.assign(score=[np.nan] + [0.1] * 9), "is empty at row 1"),
        (HAND.assign(label=[2] + [0] * 9), "only 0 and 1; row 1 holds 2"),
        (HAND.iloc[:0], "no rows"),
    ],
)
def test_fairness_bad_input_is_named(frame, message):
    with pytest.raises(ValueError, match=message):
        run_audit(frame, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5], policy=_policy())


def test_fairness_bootstrap_counts_match_metricframe_and_repeat():
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame(
        {"score": rng.random(n), "label": rng.integers(0, 2, n), "g": rng.choice(["x", "y", "z"], n)}
    )
    policy = _policy()
    thresholds = [0.3, 0.7]
    result = run_audit(frame, score_col="score", label_col="label", group_cols=["g"], thresholds=thresholds,
                       policy=policy, resamples=200)
    codes, labels = group_codes(frame, "g")
    attrs = [AuditedAttribute("g", codes, labels, labels.index(result.references["g"]))]
    specs = count_specs(attrs, frame["label"].to_numpy(), frame["score"].to_numpy(), thresholds)
    unit = metrics_from_sums(attrs, [s[np.newaxis] for s in weighted_sums(specs, np.ones(n))], len(thresholds))[0]
    for ti, t in enumerate(thresholds):
        for gi, label in enumerate(labels):
            row = _row(result, label, t)
            for metric in ("selection_rate", "tpr", "fpr", "fnr", "precision", "calibration_gap", "fpr_ratio"):
                assert unit[metric][0, ti, gi] == pytest.approx(row[metric]), (metric, label, t)
            # A 95% interval holds its own point estimate on a sample this size.
            assert row["fpr_ci_low"] <= row["fpr"] <= row["fpr_ci_high"]
    again = run_audit(frame, score_col="score", label_col="label", group_cols=["g"], thresholds=thresholds,
                      policy=policy, resamples=200)
    pd.testing.assert_frame_equal(result.rows, again.rows)
    reference_rows = result.rows[result.rows["is_reference"]]
    assert (reference_rows["fpr_ratio_ci_low"] == 1.0).all() and (reference_rows["fpr_ratio_ci_high"] == 1.0).all()


def test_fairness_bootstrap_sums_resample_rows():
    keys = np.array([0, 0, 1, 1, 1])
    sums = bootstrap_sums([SumSpec(keys, 2), SumSpec(keys, 2, np.array([1.0, 2, 3, 4, 5]))], 5, resamples=50, seed=1)
    assert sums[0].shape == (50, 2)
    assert np.all(sums[0].sum(axis=1) == 5)  # every replicate draws n rows
    # Group 0 holds values 1 and 2, group 1 values 3 to 5: sums lie between count x min and count x max.
    assert np.all(sums[1][:, 0] >= sums[0][:, 0]) and np.all(sums[1][:, 0] <= 2 * sums[0][:, 0])
    assert np.all(sums[1][:, 1] >= 3 * sums[0][:, 1]) and np.all(sums[1][:, 1] <= 5 * sums[0][:, 1])
    assert sums[0][:, 0].mean() == pytest.approx(2.0, abs=0.4)
    with pytest.raises(ValueError, match="zero rows"):
        bootstrap_sums([], 0, resamples=1, seed=0)


def test_fairness_percentile_interval_matches_numpy_and_skips_nan():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(1000, 3))
    samples[:, 2] = np.nan
    samples[:10, 1] = np.nan
    low, high = percentile_interval(samples, 0.95)
    assert low[0] == pytest.approx(np.percentile(samples[:, 0], 2.5))
    assert high[0] == pytest.approx(np.percentile(samples[:, 0], 97.5))
    assert high[1] == pytest.approx(np.percentile(samples[10:, 1], 97.5))
    assert math.isnan(low[2]) and math.isnan(high[2])


@pytest.mark.parametrize(
    ("rule", "value", "low", "high", "expected"),
    [
        ("point_estimate", 1.0, 0.9, 1.1, PASS),
        ("point_estimate", 1.0, 0.7, 1.1, BORDERLINE),
        ("point_estimate", 1.3, 1.1, 1.5, FAIL),
        ("point_estimate", 1.3, 1.26, 1.5, FAIL),
        ("point_estimate", 1.0, np.nan, np.nan, PASS),
        ("confident_breach", 1.3, 1.1, 1.5, BORDERLINE),
        ("confident_breach", 1.3, 1.26, 1.5, FAIL),
        ("confident_breach", 0.5, 0.3, 0.79, FAIL),
        ("confident_breach", 1.0, 0.9, 1.1, PASS),
        ("confident_breach", 1.3, np.nan, np.nan, FAIL),
    ],
)
def test_fairness_decision_rules(rule, value, low, high, expected):
    check = GatedCheck(metric="fpr_ratio", lower=0.8, upper=1.25)
    assert judge(check, value, low, high, rule) == expected


def _rare_flags(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """People without a recorded outcome: per group (size, flagged), flagged people scoring 0.9, others 0.001."""
    parts = [
        pd.DataFrame({"score": [0.9] * flagged + [0.001] * (size - flagged), "label": 0, "g": name})
        for name, (size, flagged) in groups.items()
    ]
    return pd.concat(parts, ignore_index=True)


def test_fairness_rare_events_zero_count_is_too_small_unless_many_were_expected():
    # Reference white: 2,000 people, 20 flagged (FPR 1%). unknown: 75 people, none flagged, so
    # 0.75 expected at the reference rate: too few to judge. black: 1,000 people, none flagged where
    # 10 were expected: a real breach (a Poisson chance of e^-10 if black shared white's rate).
    frame = _rare_flags({"white": (2000, 20), "unknown": (75, 0), "black": (1000, 0), "asian": (1000, 10)})
    policy = _policy(minimum_group_size=50, minimum_expected_events=5, reference_groups={"g": "white"})
    result = run_audit(frame, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                       policy=policy, resamples=100)
    by = {c.group: c for c in result.checks if c.metric == "fpr_ratio"}
    unknown, black, asian = by["unknown"], by["black"], by["asian"]
    # The percentile bootstrap of a zero count is degenerate, [0, 0], in both groups: the floor decides.
    assert (unknown.value, unknown.ci_low, unknown.ci_high) == (0.0, 0.0, 0.0)
    assert unknown.status == TOO_SMALL and unknown.expected_events == pytest.approx(0.75)
    assert "about 0.8 people without a recorded outcome in this group would be flagged" in unknown.note
    assert "too few to judge" in unknown.note and "at least 5" in unknown.note
    assert black.status == FAIL and black.expected_events == pytest.approx(10.0)
    assert black.value == 0.0 and black.distance == pytest.approx(0.8)
    assert asian.status in (PASS, BORDERLINE) and asian.value == pytest.approx(1.0)
    assert [c.group for c in result.failed] == ["black"]
    # Listed with its reason in the report, never silently dropped.
    from fairness.report import ModelCard, Verdict, build_report

    html, document = build_report(result, card=ModelCard(title="t", subject="s"),
                                  verdict=Verdict(published=False), charts=False)
    assert "Checks resting on too few events" in html
    assert "g = unknown vs white at threshold 0.5" in html and "about 0.8 people" in html
    listed = [c for c in document["checks"] if c["group"] == "unknown" and c["metric"] == "fpr_ratio"]
    assert listed[0]["status"] == TOO_SMALL and listed[0]["expected_events"] == pytest.approx(0.75)
    assert document["minimum_expected_events"] == 5


def test_fairness_rare_events_reference_with_few_events_is_too_small():
    # A small reference (set by the policy) with one flagged person: 10 expected in black,
    # but the reference's rate rests on a single event.
    frame = _rare_flags({"white": (200, 1), "black": (2000, 0)})
    policy = _policy(minimum_group_size=100, minimum_expected_events=5, reference_groups={"g": "white"})
    result = run_audit(frame, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                       policy=policy, resamples=0)
    black = next(c for c in result.checks if c.metric == "fpr_ratio")
    assert black.status == TOO_SMALL and black.expected_events == pytest.approx(10.0)
    assert "reference group has only 1 such events" in black.note
    # With the floor off (policy 1.0 behaviour) the same table is a breach.
    loose = _policy(minimum_group_size=100, minimum_expected_events=0, reference_groups={"g": "white"})
    again = run_audit(frame, score_col="score", label_col="label", group_cols=["g"], thresholds=[0.5],
                      policy=loose, resamples=0)
    assert next(c for c in again.checks if c.metric == "fpr_ratio").status == FAIL


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # Group: 200 people, 20 positives, 30 flagged. Reference rates below.
        ("selection_rate_ratio", 0.1 * 200),
        ("fpr_ratio", 0.05 * 180),
        ("fnr_difference", 0.4 * 20),
        ("tpr_ratio", 0.6 * 20),
        ("precision_ratio", 0.3 * 30),
    ],
)
def test_fairness_expected_events_per_metric(metric, expected):
    from fairness.audit import event_counts

    row = pd.Series({"count": 200, "positives": 20, "flagged": 30})
    ref = pd.Series({"count": 1000, "positives": 50, "flagged": 100, "selection_rate": 0.1, "fpr": 0.05,
                     "fnr": 0.4, "tpr": 0.6, "precision": 0.3})
    denominators = {"selection_rate_ratio": 1000, "fpr_ratio": 950, "fnr_difference": 50, "tpr_ratio": 50,
                    "precision_ratio": 100}
    group_expected, reference_events = event_counts(metric, row, ref)
    assert group_expected == pytest.approx(expected)
    assert reference_events == pytest.approx(float(ref[metric.removesuffix("_ratio").removesuffix("_difference")]) * denominators[metric])
