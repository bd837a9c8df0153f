"""The fairness audit: group metrics with Fairlearn, bootstrap intervals, disparities, checks.

One audit takes a frame with a score, a 0/1 label and group columns, and
computes for every attribute (and ``a x b`` intersection), group and
operating threshold: count, base rate, selection rate, TPR, FPR, FNR,
precision, AUC and calibration (mean predicted vs observed rate), with
bootstrap intervals, and the disparities against the reference group. A score
at or above a threshold counts as flagged.

Point estimates come from Fairlearn's ``MetricFrame``; every rate is computed
by :func:`rates` from confusion counts, the one definition shared by the
point estimates and the bootstrap (which sums the same counts with
``bincount``, see :mod:`fairness.bootstrap`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairness.bootstrap import SumSpec, bootstrap_sums, percentile_interval
from fairness.policy import (
    INTERSECTION_SEPARATOR,
    POSITIVE_CONDITIONED,
    RATE_CHECKS,
    THRESHOLD_FREE,
    FairnessPolicy,
    GatedCheck,
)

MISSING_COLUMN = "column {column!r} is not in the scores (columns: {available})"
EMPTY_FRAME = "the scores have no rows"
NON_NUMERIC_SCORE = "score column {column!r} must be numeric; row {row} holds {value!r}"
MISSING_SCORE = "score column {column!r} is empty at row {row}"
BAD_LABEL = "label column {column!r} must hold only 0 and 1; row {row} holds {value!r}"
NO_GROUP_COLUMNS = "at least one group column is needed"
UNKNOWN_REFERENCE = "reference group {group!r} for {attribute!r} is not in the data (groups: {groups})"
NO_THRESHOLDS = "at least one threshold is needed"

MISSING_GROUP = "missing"
BASELINE_PREFIX = "baseline_"
GROUP_SEPARATOR = " / "
RATE_METRICS: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "fnr", "precision")
THRESHOLD_FREE_METRICS: tuple[str, ...] = ("base_rate", "mean_predicted", "calibration_gap")
INTERVAL_METRICS: tuple[str, ...] = (
    RATE_METRICS
    + THRESHOLD_FREE_METRICS
    + tuple(f"{m}_ratio" for m in RATE_METRICS)
    + tuple(f"{m}_difference" for m in RATE_METRICS)
    + ("calibration_difference",)
)

# Check statuses, in the order the report lists them.
FAIL, BORDERLINE, PASS, TOO_SMALL, NOT_ESTIMABLE = "fail", "borderline", "pass", "too_small", "not_estimable"

# The events behind each rate: who is counted (the rate's denominator, from an
# audit row) and what happens to them, in words for the "too small" note.
EVENT_DENOMINATORS: dict[str, str] = {
    "selection_rate": "count",
    "fpr": "negatives",
    "fnr": "positives",
    "tpr": "positives",
    "precision": "flagged",
}
EVENT_WORDS: dict[str, str] = {
    "selection_rate": "people in this group would be flagged at the reference group's selection rate",
    "fpr": "people without a recorded outcome in this group would be flagged at the reference group's "
    "false positive rate",
    "fnr": "people with a recorded outcome in this group would be missed at the reference group's "
    "false negative rate",
    "tpr": "people with a recorded outcome in this group would be flagged at the reference group's "
    "true positive rate",
    "precision": "of the people flagged in this group would have a recorded outcome at the reference "
    "group's precision",
}
TOO_FEW_EXPECTED = (
    "at this threshold about {expected:.1f} {words}: too few to judge (the policy needs at least {minimum:g}, "
    "so that even a count of zero would be evidence rather than chance)"
)
TOO_FEW_REFERENCE = (
    "the reference group has only {observed:g} such events at this threshold (the policy needs at least "
    "{minimum:g}): its rate is too uncertain to compare with"
)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio, NaN where the denominator is 0 (a rate with no one to rate)."""
    num, den = np.broadcast_arrays(np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def rates(n: Any, positives: Any, flagged: Any, true_positives: Any, score_sum: Any) -> dict[str, np.ndarray]:
    """Every audit rate from confusion counts (arrays broadcast; weights allowed).

    ``n`` people, ``positives`` of them with label 1, ``flagged`` at or above
    the threshold, ``true_positives`` both, ``score_sum`` the summed score.
    Undefined rates (no positives for TPR, nobody flagged for precision) are NaN.
    """
    n, positives, flagged, tp = (np.asarray(a, dtype=float) for a in (n, positives, flagged, true_positives))
    negatives = n - positives
    false_positives = flagged - tp
    false_negatives = positives - tp
    base_rate = _divide(positives, n)
    mean_predicted = _divide(score_sum, n)
    return {
        "base_rate": base_rate,
        "selection_rate": _divide(flagged, n),
        "tpr": _divide(tp, positives),
        "fpr": _divide(false_positives, negatives),
        "fnr": _divide(false_negatives, positives),
        "precision": _divide(tp, flagged),
        "mean_predicted": mean_predicted,
        "calibration_gap": mean_predicted - base_rate,
    }


def group_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC AUC, NaN when the group holds only one class."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, y_score))


@dataclass
class CheckResult:
    """One gated check on one group (and threshold)."""

    metric: str
    attribute: str
    group: str
    reference: str
    threshold: float | None
    value: float
    ci_low: float
    ci_high: float
    band: str
    lower: float | None
    upper: float | None
    status: str
    distance: float
    note: str = ""
    expected_events: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {k: _json_value(v) for k, v in self.__dict__.items()}


@dataclass
class PerformanceCheck:
    """One performance floor: the model's value against its limit."""

    name: str
    value: float
    limit: float
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {k: _json_value(v) for k, v in self.__dict__.items()}


@dataclass
class AuditResult:
    """What :func:`run_audit` returns; ``rows`` is one row per (attribute, group, threshold)."""

    rows: pd.DataFrame
    checks: list[CheckResult]
    references: dict[str, str]
    thresholds: list[float]
    n_rows: int
    resamples: int
    confidence: float
    seed: int
    decision_rule: str
    policy_version: str
    minimum_group_size: int
    minimum_positives: int
    minimum_expected_events: float
    elapsed_seconds: float
    too_small: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def borderline(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == BORDERLINE]

    @property
    def passed(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "n_rows": self.n_rows,
            "thresholds": self.thresholds,
            "references": self.references,
            "bootstrap": {"resamples": self.resamples, "confidence": self.confidence, "seed": self.seed},
            "decision_rule": self.decision_rule,
            "minimum_group_size": self.minimum_group_size,
            "minimum_positives": self.minimum_positives,
            "minimum_expected_events": self.minimum_expected_events,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "too_small": self.too_small,
            "rows": records(self.rows),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN as null)."""
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def validate_scores(frame: pd.DataFrame, *, score_col: str, label_col: str, group_cols: Sequence[str]) -> None:
    """Raise a ``ValueError`` naming the first problem with an audit input."""
    if len(frame) == 0:
        raise ValueError(EMPTY_FRAME)
    if not group_cols:
        raise ValueError(NO_GROUP_COLUMNS)
    needed = [score_col, label_col, *(c for g in group_cols for c in split_attribute(g))]
    for column in needed:
        if column not in frame.columns:
            raise ValueError(MISSING_COLUMN.format(column=column, available=list(frame.columns)))
    score = pd.to_numeric(frame[score_col], errors="coerce")
    bad = score.isna() & frame[score_col].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(NON_NUMERIC_SCORE.format(column=score_col, row=row + 1, value=frame[score_col].tolist()[row]))
    if score.isna().any() or not np.isfinite(score.to_numpy(dtype=float)).all():
        row = int(np.flatnonzero(~np.isfinite(score.to_numpy(dtype=float)))[0])
        raise ValueError(MISSING_SCORE.format(column=score_col, row=row + 1))
    label = pd.to_numeric(frame[label_col], errors="coerce")
    bad_label = ~label.isin([0, 1])
    if bad_label.any():
        row = int(np.flatnonzero(bad_label.to_numpy())[0])
        raise ValueError(BAD_LABEL.format(column=label_col, row=row + 1, value=frame[label_col].tolist()[row]))


def split_attribute(name: str) -> list[str]:
    """The frame columns behind an attribute name (``a x b`` is an intersection)."""
    return name.split(INTERSECTION_SEPARATOR)


def _labels_of(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and ordered string labels of the groups present in one column.

    Categories keep their declared order, numbers their numeric order (whole
    numbers printed without decimals), text its sorted order; missing values
    form the last group, ``missing``. Vectorised: columns have 200,000 rows.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        raw = column.cat.codes.to_numpy().astype(np.int64)
        names = [str(c) for c in column.cat.categories]
    elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float)
        known = ~np.isnan(values)
        uniques, inverse = np.unique(values[known], return_inverse=True)
        raw = np.full(len(values), -1, dtype=np.int64)
        raw[known] = inverse
        whole = bool(np.all(uniques == np.round(uniques)))
        names = [str(int(v)) if whole else f"{v:g}" for v in uniques]
    else:
        text = column.astype(object)
        known = text.notna().to_numpy()
        uniques, inverse = np.unique(text[known].map(str).to_numpy(dtype=object), return_inverse=True)
        raw = np.full(len(text), -1, dtype=np.int64)
        raw[known] = inverse
        names = [str(u) for u in uniques]
    # Missing (-1) becomes the last code; then keep only the groups that occur.
    raw = np.where(raw < 0, len(names), raw)
    names = names + [MISSING_GROUP]
    present = np.flatnonzero(np.bincount(raw, minlength=len(names)))
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return remap[raw], [names[i] for i in present]


def group_codes(frame: pd.DataFrame, attribute: str) -> tuple[np.ndarray, list[str]]:
    """Codes and labels for an attribute; intersections combine their parts' labels."""
    parts = split_attribute(attribute)
    codes, labels = _labels_of(frame[parts[0]])
    for part in parts[1:]:
        more, more_labels = _labels_of(frame[part])
        combined = codes * len(more_labels) + more
        used = np.unique(combined)
        remap = np.full(len(labels) * len(more_labels), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        labels = [f"{labels[u // len(more_labels)]}{GROUP_SEPARATOR}{more_labels[u % len(more_labels)]}" for u in used]
        codes = remap[combined]
    return codes, labels


def _statistics_metric(thresholds: Sequence[float]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A metric returning a group's sufficient statistics.

    ``[n, positives, score sum, AUC, flagged per threshold..., true positives per threshold...]``.
    """
    cuts = np.asarray(thresholds, dtype=float)

    def statistics(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
        y = np.asarray(y_true, dtype=float)
        s = np.asarray(y_score, dtype=float)
        flags = s[np.newaxis, :] >= cuts[:, np.newaxis]
        head = [len(y), y.sum(), s.sum(), group_auc(y, s)]
        return np.concatenate([head, flags.sum(axis=1), (flags * y).sum(axis=1)])

    return statistics


def _point_estimates(
    y: np.ndarray, score: np.ndarray, codes: np.ndarray, n_groups: int, thresholds: Sequence[float]
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Fairlearn MetricFrame by group (indexed by group code), turned into every rate, arrays (T, G).

    One metric returns the group's confusion counts at every threshold and
    its AUC (one pass, where a metric per rate and threshold would make
    Fairlearn re-read the columns dozens of times); :func:`rates` turns them
    into rates, the same definition the bootstrap uses.
    """
    from fairlearn.metrics import MetricFrame

    frame = MetricFrame(
        metrics={"statistics": _statistics_metric(thresholds)},
        y_true=y, y_pred=score, sensitive_features=pd.Series(codes, name="group"),
    )
    by_group = frame.by_group["statistics"].reindex(range(n_groups))
    stats = np.vstack(by_group.to_numpy())
    t = len(thresholds)
    n, positives, score_sum = (stats[:, i][np.newaxis, :] for i in range(3))
    flagged, tp = stats[:, 4 : 4 + t].T, stats[:, 4 + t :].T
    values = {k: np.broadcast_to(v, flagged.shape) for k, v in rates(n, positives, flagged, tp, score_sum).items()}
    values["flagged"] = flagged
    table = pd.DataFrame({"count": stats[:, 0], "positives": stats[:, 1], "auc": stats[:, 3]})
    return table, values


@dataclass
class AuditedAttribute:
    """One audited attribute: row codes, group labels and the reference group's index."""

    name: str
    codes: np.ndarray
    labels: list[str]
    reference: int


def count_specs(attrs: list[AuditedAttribute], y: np.ndarray, score: np.ndarray, thresholds: Sequence[float]) -> list[SumSpec]:
    """The sums behind every metric: per attribute, (group, label, level) cells and score sums.

    A row's level is how many thresholds its score reaches, which fixes its
    flag at every threshold at once.
    """
    n_levels = len(thresholds) + 1
    level = np.searchsorted(np.asarray(thresholds), score, side="right")
    specs = []
    for a in attrs:
        cell = (a.codes * 2 + y.astype(np.int64)) * n_levels + level
        specs.append(SumSpec(cell, len(a.labels) * 2 * n_levels))
        specs.append(SumSpec(a.codes, len(a.labels), score))
    return specs


def metrics_from_sums(attrs: list[AuditedAttribute], sums: list[np.ndarray], n_thresholds: int) -> list[dict[str, np.ndarray]]:
    """Per attribute, every interval metric from replicate sums, arrays of shape (B, T, G)."""
    n_levels = n_thresholds + 1
    out = []
    for i, a in enumerate(attrs):
        g = len(a.labels)
        cells = sums[2 * i].reshape(-1, g, 2, n_levels)
        score_sum = sums[2 * i + 1].reshape(-1, 1, g)
        n = cells.sum(axis=(2, 3))[:, np.newaxis, :]
        positives = cells[:, :, 1, :].sum(axis=2)[:, np.newaxis, :]
        # Flagged at threshold j = rows whose level is above j: reverse cumulative sums.
        at_or_above = np.flip(np.cumsum(np.flip(cells, axis=3), axis=3), axis=3)[:, :, :, 1:]
        flagged = at_or_above.sum(axis=2).transpose(0, 2, 1)
        tp = at_or_above[:, :, 1, :].transpose(0, 2, 1)
        values = rates(n, positives, flagged, tp, score_sum)
        values = {k: np.broadcast_to(v, flagged.shape) for k, v in values.items()}
        values.update(disparities(values, a.reference))
        out.append(values)
    return out


def disparities(values: dict[str, np.ndarray], reference: int) -> dict[str, np.ndarray]:
    """Ratios and differences against the reference group (last axis indexes groups)."""
    out = {}
    for name in RATE_METRICS:
        v = values[name]
        ref = v[..., reference : reference + 1]
        out[f"{name}_ratio"] = _divide(v, ref)
        out[f"{name}_difference"] = v - ref
    gap = values["calibration_gap"]
    out["calibration_difference"] = gap - gap[..., reference : reference + 1]
    return out


def run_audit(
    frame: pd.DataFrame,
    *,
    score_col: str,
    label_col: str,
    group_cols: Sequence[str],
    thresholds: Sequence[float] | None = None,
    policy: FairnessPolicy,
    resamples: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditResult:
    """Audit ``frame`` against ``policy``.

    Parameters
    ----------
    frame : DataFrame
        One row per scored case.
    score_col, label_col : str
        The score (flagged when at or above a threshold) and the 0/1 outcome.
    group_cols : sequence of str
        Attributes to audit; ``"a x b"`` audits the intersection of columns a and b.
    thresholds : sequence of float, optional
        Operating thresholds; the policy's when omitted.
    policy : FairnessPolicy
        Reference groups, size floors, bootstrap settings and gated checks.
    resamples : int, optional
        Overrides the policy's bootstrap resamples (0: no intervals).

    Raises
    ------
    ValueError
        On a missing column, a non-numeric or missing score, a label other than
        0/1, an empty frame, or a reference group absent from the data.
    """
    started = time.perf_counter()
    validate_scores(frame, score_col=score_col, label_col=label_col, group_cols=group_cols)
    chosen = sorted(set(float(t) for t in (thresholds if thresholds is not None else policy.thresholds)))
    if not chosen:
        raise ValueError(NO_THRESHOLDS)
    n_boot = policy.bootstrap.resamples if resamples is None else resamples
    y = pd.to_numeric(frame[label_col]).to_numpy(dtype=np.int64)
    score = pd.to_numeric(frame[score_col]).to_numpy(dtype=float)

    attrs: list[AuditedAttribute] = []
    points: list[tuple[pd.DataFrame, dict[str, np.ndarray]]] = []
    for name in group_cols:
        codes, labels = group_codes(frame, name)
        by_group, values = _point_estimates(y, score, codes, len(labels), chosen)
        wanted = policy.groups.reference_groups.get(name)
        if wanted is None:
            reference = int(np.argmax(by_group["count"].to_numpy()))
        elif wanted in labels:
            reference = labels.index(wanted)
        else:
            raise ValueError(UNKNOWN_REFERENCE.format(group=wanted, attribute=name, groups=labels))
        attrs.append(AuditedAttribute(name, codes, labels, reference))
        points.append((by_group, values))

    boot = None
    if n_boot > 0:
        specs = count_specs(attrs, y, score, chosen)
        sums = bootstrap_sums(specs, len(y), resamples=n_boot, seed=policy.bootstrap.seed, progress=progress)
        boot = metrics_from_sums(attrs, sums, len(chosen))
    rows = []
    for i, (a, (by_group, point)) in enumerate(zip(attrs, points, strict=True)):
        point = {**point, **disparities(point, a.reference)}
        intervals = {}
        if boot is not None:
            for k in INTERVAL_METRICS:
                intervals[k] = percentile_interval(boot[i][k], policy.bootstrap.confidence)
        count = by_group["count"].to_numpy(dtype=float)
        positives = by_group["positives"].to_numpy(dtype=float)
        auc = by_group["auc"].to_numpy(dtype=float)
        for ti, t in enumerate(chosen):
            for gi, label in enumerate(a.labels):
                row: dict[str, Any] = {
                    "attribute": a.name,
                    "group": label,
                    "threshold": t,
                    "reference": a.labels[a.reference],
                    "is_reference": gi == a.reference,
                    "count": int(count[gi]),
                    "positives": int(positives[gi]),
                    "flagged": int(point["flagged"][ti, gi]),
                    "too_small": bool(count[gi] < policy.groups.minimum_group_size),
                    "auc": auc[gi],
                }
                for k in INTERVAL_METRICS:
                    row[k] = float(point[k][ti, gi])
                    low, high = intervals.get(k, (None, None))
                    row[f"{k}_ci_low"] = float(low[ti, gi]) if low is not None else np.nan
                    row[f"{k}_ci_high"] = float(high[ti, gi]) if high is not None else np.nan
                rows.append(row)
    table = pd.DataFrame(rows)
    references = {a.name: a.labels[a.reference] for a in attrs}
    too_small = [
        {"attribute": r.attribute, "group": r.group, "count": int(r.count), "positives": int(r.positives)}
        for r in table[table["too_small"] & (table["threshold"] == chosen[0])].itertuples()
    ]
    checks = evaluate_checks(table, policy)
    return AuditResult(
        rows=table,
        checks=checks,
        references=references,
        thresholds=chosen,
        n_rows=len(frame),
        resamples=n_boot,
        confidence=policy.bootstrap.confidence,
        seed=policy.bootstrap.seed,
        decision_rule=policy.gate.decision_rule,
        policy_version=policy.version,
        minimum_group_size=policy.groups.minimum_group_size,
        minimum_positives=policy.groups.minimum_positives,
        minimum_expected_events=policy.groups.minimum_expected_events,
        elapsed_seconds=time.perf_counter() - started,
        too_small=too_small,
    )


def judge(check: GatedCheck, value: float, ci_low: float, ci_high: float, rule: str) -> str:
    """PASS, BORDERLINE or FAIL for one estimate under the policy's decision rule."""
    inside = check.contains(value)
    has_ci = np.isfinite(ci_low) and np.isfinite(ci_high)
    ci_inside = has_ci and check.contains(ci_low) and check.contains(ci_high)
    if rule == "point_estimate":
        if not inside:
            return FAIL
        return PASS if ci_inside or not has_ci else BORDERLINE
    # confident_breach: fail only when the whole interval lies outside the band.
    if not has_ci:
        return PASS if inside else FAIL
    entirely_outside = (check.upper is not None and ci_low > check.upper) or (
        check.lower is not None and ci_high < check.lower
    )
    if entirely_outside:
        return FAIL
    return PASS if ci_inside and inside else BORDERLINE


def event_counts(metric: str, row: pd.Series, ref: pd.Series) -> tuple[float, float]:
    """Events a rate check rests on: expected in the group at the reference rate, and observed in the reference.

    For ``fpr_ratio`` the events are false positives: the reference group's
    FPR times the group's negatives, and the reference's own false positives;
    likewise misses for FNR, flagged people for the selection rate, caught
    positives for TPR and true positives among the flagged for precision.
    """
    base = metric.removesuffix("_ratio").removesuffix("_difference")
    column = EVENT_DENOMINATORS[base]

    def denominator(r: pd.Series) -> float:
        return float(r["count"] - r["positives"]) if column == "negatives" else float(r[column])

    ref_rate = float(ref[base])
    if not np.isfinite(ref_rate):
        return float("nan"), float("nan")
    return ref_rate * denominator(row), ref_rate * denominator(ref)


def evaluate_checks(table: pd.DataFrame, policy: FairnessPolicy) -> list[CheckResult]:
    """Every gated check on every non-reference group, judged by the policy's rule.

    A check is *too small to judge* (listed, never passed or failed) when the
    group or the reference has fewer people than ``minimum_group_size``, when
    a TPR/FNR check has fewer observed positives than ``minimum_positives``,
    or when a rate check rests on fewer events than
    ``minimum_expected_events``: fewer expected in the group at the reference
    group's rate, or fewer observed in the reference. Without that floor a
    group with, say, 0.4 false positives expected and none observed would
    show a ratio of 0 with a bootstrap interval of exactly [0, 0], and count
    as a confident breach; with at least 5 expected, observing none has a
    Poisson chance under 1% if the group shared the reference rate, so a
    zero count is evidence.
    """
    results = []
    first_threshold = table["threshold"].min()
    by_key = table.set_index(["attribute", "group", "threshold"])
    min_n = policy.groups.minimum_group_size
    min_pos = policy.groups.minimum_positives
    min_events = policy.groups.minimum_expected_events
    for check in policy.gate.checks:
        threshold_free = check.metric in THRESHOLD_FREE
        for (attribute, group, threshold), row in by_key.iterrows():
            if row["is_reference"] or not check.applies_to(attribute):
                continue
            if threshold_free and threshold != first_threshold:
                continue
            ref = by_key.loc[(attribute, row["reference"], threshold)]
            value = float(row[check.metric])
            low, high = float(row[f"{check.metric}_ci_low"]), float(row[f"{check.metric}_ci_high"])
            note = ""
            expected, reference_events = (
                event_counts(check.metric, row, ref) if check.metric in RATE_CHECKS else (float("nan"),) * 2
            )
            base = check.metric.removesuffix("_ratio").removesuffix("_difference")
            if row["count"] < min_n or ref["count"] < min_n:
                status, note = TOO_SMALL, f"fewer than {min_n} people in the group or the reference"
            elif check.metric in POSITIVE_CONDITIONED and (
                row["positives"] < min_pos or ref["positives"] < min_pos
            ):
                status, note = TOO_SMALL, f"fewer than {min_pos} observed positives in the group or the reference"
            elif not np.isfinite(value):
                status, note = NOT_ESTIMABLE, "the reference group's rate is 0 or undefined"
            elif check.metric in RATE_CHECKS and not expected >= min_events:
                status = TOO_SMALL
                note = TOO_FEW_EXPECTED.format(expected=expected, words=EVENT_WORDS[base], minimum=min_events)
            elif check.metric in RATE_CHECKS and not reference_events >= min_events:
                status = TOO_SMALL
                note = TOO_FEW_REFERENCE.format(observed=round(reference_events, 6), minimum=min_events)
            else:
                status = judge(check, value, low, high, policy.gate.decision_rule)
            results.append(
                CheckResult(
                    metric=check.metric,
                    attribute=attribute,
                    group=group,
                    reference=row["reference"],
                    threshold=None if threshold_free else float(threshold),
                    value=value,
                    ci_low=low,
                    ci_high=high,
                    band=check.band_text(),
                    lower=check.lower,
                    upper=check.upper,
                    status=status,
                    distance=check.distance(value) if np.isfinite(value) else float("nan"),
                    note=note,
                    expected_events=expected,
                )
            )
    return results


def performance_checks(
    frame: pd.DataFrame, *, score_col: str, label_col: str, policy: FairnessPolicy
) -> tuple[list[PerformanceCheck], list[dict[str, Any]]]:
    """The policy's performance floors on the test period, and a table of AUC per score.

    The model must beat every baseline named in ``auc_must_beat`` by the
    margin, and its expected calibration error must stay under the ceiling. A
    baseline missing from the predictions fails its floor: the floor cannot be
    shown to hold.
    """
    from sklearn.metrics import roc_auc_score

    from training.metrics import expected_calibration_error

    y = pd.to_numeric(frame[label_col]).to_numpy(dtype=float)
    score = pd.to_numeric(frame[score_col]).to_numpy(dtype=float)
    model_auc = float(roc_auc_score(y, score))
    ece = expected_calibration_error(y, score, policy.performance.ece_bins)
    table = [{"score": score_col, "auc": model_auc, "ece": ece}]
    checks = []
    for baseline in policy.performance.auc_must_beat:
        values = frame[baseline] if baseline in frame.columns else None
        if values is None or values.isna().any():
            checks.append(PerformanceCheck(
                f"AUC beats {baseline}", model_auc, float("nan"), False,
                f"{baseline} is not available in the predictions, so the floor cannot be shown to hold",
            ))
            continue
        base_auc = float(roc_auc_score(y, values.to_numpy(dtype=float)))
        limit = base_auc + policy.performance.auc_margin
        checks.append(PerformanceCheck(
            f"AUC beats {baseline}", model_auc, limit, model_auc > limit,
            f"model AUC {model_auc:.3f} against {baseline} {base_auc:.3f}"
            + (f" + margin {policy.performance.auc_margin:g}" if policy.performance.auc_margin else ""),
        ))
    # Every baseline the predictions carry goes in the model card's table, gated or not.
    for column in frame.columns:
        if column.startswith(BASELINE_PREFIX) and frame[column].notna().all():
            table.append({"score": column, "auc": float(roc_auc_score(y, frame[column].to_numpy(dtype=float))),
                          "ece": None})
    checks.append(PerformanceCheck(
        "calibration error under ceiling", ece, policy.performance.max_ece, ece <= policy.performance.max_ece,
        f"expected calibration error {ece:.4f} ({policy.performance.ece_bins} equal-count bins), "
        f"ceiling {policy.performance.max_ece:g}",
    ))
    return checks, table
