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
from collections.abc import Callable, Mapping, Sequence
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
from fairness.power import (
    critical_value,
    detectable_calibration_difference,
    detectable_difference,
    detectable_ratio,
    method_text,
)

MISSING_COLUMN = "column {column!r} is not in the scores (columns: {available})"
EMPTY_FRAME = "the scores have no rows"
NON_NUMERIC_SCORE = "score column {column!r} must be numeric; row {row} holds {value!r}"
MISSING_SCORE = "score column {column!r} is empty at row {row}"
BAD_LABEL = "label column {column!r} must hold only 0 and 1; row {row} holds {value!r}"
NO_GROUP_COLUMNS = "at least one group column is needed"
UNKNOWN_REFERENCE = "reference group {group!r} for {attribute!r} is not in the data (groups: {groups})"
NO_THRESHOLDS = "at least one threshold is needed"
UNKNOWN_SCORE_KIND = "score kind must be one of {kinds}, got {kind!r}"
PROBABILITY_OUT_OF_RANGE = (
    "score column {column!r} is declared a probability but holds values outside [0, 1] "
    "(from {low:g} to {high:g}); audit it as a ranking (--score-kind rank)"
)
RANKING_NEEDS_THRESHOLDS = (
    "the score is a ranking, not a probability: give thresholds in its own units (a case is flagged "
    "when its score is at or above one), since the policy's thresholds are probabilities"
)
REFERENCE_FOR_UNAUDITED = "a reference group is given for {attribute!r}, which is not audited (audited: {audited})"

# What the score is. A probability is calibrated against outcomes; a ranking
# (deciles 1-10, points, ranks) only orders cases, so calibration means nothing.
PROBABILITY, RANK, AUTO = "probability", "rank", "auto"
SCORE_KINDS = (AUTO, PROBABILITY, RANK)
NOT_A_PROBABILITY = (
    "the score is a ranking, not a probability (its values are not all within [0, 1], or it "
    "was declared a ranking), so the observed rate it should match is undefined"
)
# How each audited attribute's reference group was chosen, said in the report.
REFERENCE_GIVEN = "given on the command line"
REFERENCE_POLICY = "the policy's reference group"
REFERENCE_POLICY_CASE = (
    "the policy's reference group {wanted!r}, matched to {found!r} ignoring letter case"
)
REFERENCE_POLICY_ABSENT = (
    "the largest group: the policy's reference group {wanted!r} is not in the data (groups: {groups})"
)
REFERENCE_LARGEST = "the largest group: the policy names no reference group for {attribute!r}"

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

# Check statuses, in the order the report lists them. The last three are "could not be judged".
FAIL, BORDERLINE, PASS, TOO_SMALL, NOT_ESTIMABLE, NOT_APPLICABLE = (
    "fail", "borderline", "pass", "too_small", "not_estimable", "not_applicable"
)
NOT_JUDGED = (TOO_SMALL, NOT_ESTIMABLE, NOT_APPLICABLE)

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
    # The smallest disparity below / above the band the audit would fail with 80% power (fairness.power).
    detectable_low: float = float("nan")
    detectable_high: float = float("nan")

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
    score_kind: str = PROBABILITY
    attributes: list[dict[str, Any]] = field(default_factory=list)
    flagged_share: dict[float, float] = field(default_factory=dict)
    power_method: str = ""

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def borderline(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == BORDERLINE]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def not_judged(self) -> list[CheckResult]:
        """Checks that could not be judged (too small, not estimable, not applicable), each with its note."""
        return [c for c in self.checks if c.status in NOT_JUDGED]

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
            "score_kind": self.score_kind,
            "attributes": self.attributes,
            "flagged_share": [{"threshold": t, "share": _json_value(v)} for t, v in self.flagged_share.items()],
            "power_method": self.power_method,
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
    """One audited attribute: row codes, group labels and the reference group's index.

    ``policy_name`` is the policy attribute it is judged as (a column mapped
    with ``--group-col race=ethnicity`` is judged as ``ethnicity``); ``known``
    says whether the policy audits it: an attribute the policy does not know
    gets every gated check.
    """

    name: str
    codes: np.ndarray
    labels: list[str]
    reference: int
    policy_name: str = ""
    known: bool = True
    reference_note: str = ""

    def describe(self) -> dict[str, Any]:
        return {"attribute": self.name, "policy_attribute": self.policy_name or self.name, "known": self.known,
                "reference": self.labels[self.reference], "reference_chosen": self.reference_note}


# Bootstrap replicates of count_specs' sums from elsewhere: (attributes, thresholds, resamples, seed) -> sums.
ReplicateSums = Callable[[list["AuditedAttribute"], list[float], int, int], list[np.ndarray]]


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
    references: Mapping[str, str] | None = None,
    attribute_map: Mapping[str, str] | None = None,
    score_kind: str = AUTO,
    replicate_sums: ReplicateSums | None = None,
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
        Operating thresholds; the policy's when omitted (a ranking needs its own).
    policy : FairnessPolicy
        Reference groups, size floors, bootstrap settings and gated checks.
    resamples : int, optional
        Overrides the policy's bootstrap resamples (0: no intervals).
    references : mapping, optional
        Audited attribute -> reference group, overriding the policy's choice.
    attribute_map : mapping, optional
        Column -> policy attribute it stands for (e.g. ``race`` -> ``ethnicity``).
    score_kind : {"auto", "probability", "rank"}
        ``auto``: a probability when every score lies within [0, 1], else a
        ranking. A ranking gets no calibration checks.
    replicate_sums : callable, optional
        ``(attributes, thresholds, resamples, seed) -> sums``: the bootstrap
        replicates of :func:`count_specs`' sums computed elsewhere (per partition
        on a cluster, fairness/dask_audit.py) instead of by :func:`bootstrap_sums`.

    Raises
    ------
    ValueError
        On a missing column, a non-numeric or missing score, a label other than
        0/1, an empty frame, a given reference group absent from the data, or a
        "probability" outside [0, 1].
    """
    started = time.perf_counter()
    validate_scores(frame, score_col=score_col, label_col=label_col, group_cols=group_cols)
    y = pd.to_numeric(frame[label_col]).to_numpy(dtype=np.int64)
    score = pd.to_numeric(frame[score_col]).to_numpy(dtype=float)
    kind = resolve_score_kind(score, score_kind, score_col)
    chosen = _audit_thresholds(thresholds, policy, kind)
    n_boot = policy.bootstrap.resamples if resamples is None else resamples
    attrs, points = audited_attributes(frame, y, score, group_cols, chosen, policy, references or {},
                                       attribute_map or {})
    intervals = bootstrap_intervals(attrs, y, score, chosen, policy, n_boot, progress, replicate_sums)
    table = audit_rows(attrs, points, intervals, chosen, policy.groups.minimum_group_size)
    checks = evaluate_checks(table, policy, attributes=attrs, score_kind=kind, has_intervals=n_boot > 0)
    return AuditResult(
        rows=table,
        checks=checks,
        references={a.name: a.labels[a.reference] for a in attrs},
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
        too_small=too_small_groups(table),
        score_kind=kind,
        attributes=[a.describe() for a in attrs],
        flagged_share={t: float(np.mean(score >= t)) for t in chosen},
        power_method=method_text(policy.gate.decision_rule, policy.bootstrap.confidence, n_boot > 0),
    )


def resolve_score_kind(score: np.ndarray, declared: str, score_col: str) -> str:
    """``probability`` or ``rank``: ``auto`` is a probability only when every score lies within [0, 1]."""
    if declared not in SCORE_KINDS:
        raise ValueError(UNKNOWN_SCORE_KIND.format(kinds=SCORE_KINDS, kind=declared))
    within = bool(np.all((score >= 0.0) & (score <= 1.0)))
    if declared == PROBABILITY and not within:
        raise ValueError(PROBABILITY_OUT_OF_RANGE.format(column=score_col, low=score.min(), high=score.max()))
    if declared == AUTO:
        return PROBABILITY if within else RANK
    return declared


def _audit_thresholds(thresholds: Sequence[float] | None, policy: FairnessPolicy, kind: str) -> list[float]:
    if thresholds is None and kind == RANK:
        raise ValueError(RANKING_NEEDS_THRESHOLDS)
    chosen = sorted(set(float(t) for t in (thresholds if thresholds is not None else policy.thresholds)))
    if not chosen:
        raise ValueError(NO_THRESHOLDS)
    return chosen


def policy_attribute(name: str, attribute_map: Mapping[str, str]) -> str:
    """The policy attribute an audited name stands for (each column of an intersection mapped)."""
    return INTERSECTION_SEPARATOR.join(attribute_map.get(part, part) for part in split_attribute(name))


def choose_reference(
    labels: list[str], counts: np.ndarray, name: str, wanted_by_policy: str | None, given: str | None
) -> tuple[int, str]:
    """The reference group's index and, in words, how it was chosen.

    A group given on the command line must be in the data (letter case
    ignored when there is no exact match). The policy's reference group is
    matched exactly, else ignoring letter case (``male`` finds ``Male``), else
    the largest group is used and the report says so.
    """
    def find(wanted: str) -> int | None:
        if wanted in labels:
            return labels.index(wanted)
        folded = [label.casefold() for label in labels]
        return folded.index(wanted.casefold()) if wanted.casefold() in folded else None

    largest = int(np.argmax(counts))
    if given is not None:
        found = find(given)
        if found is None:
            raise ValueError(UNKNOWN_REFERENCE.format(group=given, attribute=name, groups=labels))
        return found, REFERENCE_GIVEN
    if wanted_by_policy is None:
        return largest, REFERENCE_LARGEST.format(attribute=name)
    found = find(wanted_by_policy)
    if found is None:
        return largest, REFERENCE_POLICY_ABSENT.format(wanted=wanted_by_policy, groups=labels)
    if labels[found] != wanted_by_policy:
        return found, REFERENCE_POLICY_CASE.format(wanted=wanted_by_policy, found=labels[found])
    return found, REFERENCE_POLICY


def audited_attributes(
    frame: pd.DataFrame,
    y: np.ndarray,
    score: np.ndarray,
    group_cols: Sequence[str],
    thresholds: list[float],
    policy: FairnessPolicy,
    references: Mapping[str, str],
    attribute_map: Mapping[str, str],
) -> tuple[list[AuditedAttribute], list[tuple[pd.DataFrame, dict[str, np.ndarray]]]]:
    """Each audited attribute with its groups and reference, and its point estimates by group."""
    unknown = sorted(set(references) - set(group_cols))
    if unknown:
        raise ValueError(REFERENCE_FOR_UNAUDITED.format(attribute=unknown[0], audited=list(group_cols)))
    attrs, points = [], []
    for name in group_cols:
        codes, labels = group_codes(frame, name)
        by_group, values = _point_estimates(y, score, codes, len(labels), thresholds)
        as_policy = policy_attribute(name, attribute_map)
        reference, note = choose_reference(
            labels, by_group["count"].to_numpy(), name,
            policy.groups.reference_groups.get(as_policy), references.get(name),
        )
        known = as_policy in policy.groups.audited_names
        attrs.append(AuditedAttribute(name, codes, labels, reference, as_policy, known, note))
        points.append((by_group, values))
    return attrs, points


def bootstrap_intervals(
    attrs: list[AuditedAttribute],
    y: np.ndarray,
    score: np.ndarray,
    thresholds: list[float],
    policy: FairnessPolicy,
    resamples: int,
    progress: Callable[[int], None] | None,
    replicate_sums: ReplicateSums | None = None,
) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per attribute, the percentile interval of every interval metric (empty when ``resamples`` is 0)."""
    if resamples <= 0:
        return [{} for _ in attrs]
    if replicate_sums is not None:
        sums = replicate_sums(attrs, thresholds, resamples, policy.bootstrap.seed)
    else:
        specs = count_specs(attrs, y, score, thresholds)
        sums = bootstrap_sums(specs, len(y), resamples=resamples, seed=policy.bootstrap.seed, progress=progress)
    replicates = metrics_from_sums(attrs, sums, len(thresholds))
    return [
        {k: percentile_interval(values[k], policy.bootstrap.confidence) for k in INTERVAL_METRICS}
        for values in replicates
    ]


def audit_rows(
    attrs: list[AuditedAttribute],
    points: list[tuple[pd.DataFrame, dict[str, np.ndarray]]],
    intervals: list[dict[str, tuple[np.ndarray, np.ndarray]]],
    thresholds: list[float],
    minimum_group_size: int,
) -> pd.DataFrame:
    """One row per (attribute, group, threshold): counts, every metric and its interval."""
    rows = []
    for a, (by_group, point), bounds in zip(attrs, points, intervals, strict=True):
        point = {**point, **disparities(point, a.reference)}
        count = by_group["count"].to_numpy(dtype=float)
        positives = by_group["positives"].to_numpy(dtype=float)
        auc = by_group["auc"].to_numpy(dtype=float)
        for ti, t in enumerate(thresholds):
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
                    "too_small": bool(count[gi] < minimum_group_size),
                    "auc": auc[gi],
                }
                for k in INTERVAL_METRICS:
                    row[k] = float(point[k][ti, gi])
                    low, high = bounds.get(k, (None, None))
                    row[f"{k}_ci_low"] = float(low[ti, gi]) if low is not None else np.nan
                    row[f"{k}_ci_high"] = float(high[ti, gi]) if high is not None else np.nan
                rows.append(row)
    return pd.DataFrame(rows)


def too_small_groups(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Groups below the size floor, once each (their rows repeat per threshold)."""
    first = table[table["too_small"] & (table["threshold"] == table["threshold"].min())]
    return [
        {"attribute": r.attribute, "group": r.group, "count": int(r.count), "positives": int(r.positives)}
        for r in first.itertuples()
    ]


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


def event_denominator(base: str, row: pd.Series) -> float:
    """Who a rate counts in one audit row: people, people without or with an outcome, or people flagged."""
    column = EVENT_DENOMINATORS[base]
    return float(row["count"] - row["positives"]) if column == "negatives" else float(row[column])


def event_counts(metric: str, row: pd.Series, ref: pd.Series) -> tuple[float, float]:
    """Events a rate check rests on: expected in the group at the reference rate, and observed in the reference.

    For ``fpr_ratio`` the events are false positives: the reference group's
    FPR times the group's negatives, and the reference's own false positives;
    likewise misses for FNR, flagged people for the selection rate, caught
    positives for TPR and true positives among the flagged for precision.
    """
    base = metric_base(metric)
    ref_rate = float(ref[base])
    if not np.isfinite(ref_rate):
        return float("nan"), float("nan")
    return ref_rate * event_denominator(base, row), ref_rate * event_denominator(base, ref)


def metric_base(metric: str) -> str:
    """The rate behind a ratio or difference (``fpr_ratio`` -> ``fpr``)."""
    return metric.removesuffix("_ratio").removesuffix("_difference")


def check_applies(check: GatedCheck, attribute: str, attrs: Mapping[str, AuditedAttribute]) -> bool:
    """Whether a gated check applies to an audited attribute.

    A known attribute (or a column mapped onto one) gets the checks the policy
    names for it; an attribute the policy does not know gets every gated
    check, error-rate balance included: the policy cannot say that its groups
    differ in true risk, so nothing is waived.
    """
    audited = attrs.get(attribute)
    if audited is None:
        return check.applies_to(attribute)
    return check.applies_to(audited.policy_name) if audited.known else True


def judge_row(check: GatedCheck, row: pd.Series, ref: pd.Series, policy: FairnessPolicy, score_kind: str
              ) -> tuple[str, str, float]:
    """Status, note and expected events of one check on one group (see :func:`evaluate_checks`)."""
    metric = check.metric
    value = float(row[metric])
    low, high = float(row[f"{metric}_ci_low"]), float(row[f"{metric}_ci_high"])
    min_n = policy.groups.minimum_group_size
    min_pos = policy.groups.minimum_positives
    min_events = policy.groups.minimum_expected_events
    expected, reference_events = event_counts(metric, row, ref) if metric in RATE_CHECKS else (float("nan"),) * 2
    if metric in THRESHOLD_FREE and score_kind == RANK:
        return NOT_APPLICABLE, NOT_A_PROBABILITY, expected
    if row["count"] < min_n or ref["count"] < min_n:
        return TOO_SMALL, f"fewer than {min_n} people in the group or the reference", expected
    if metric in POSITIVE_CONDITIONED and (row["positives"] < min_pos or ref["positives"] < min_pos):
        return TOO_SMALL, f"fewer than {min_pos} observed positives in the group or the reference", expected
    if not np.isfinite(value):
        return NOT_ESTIMABLE, "the reference group's rate is 0 or undefined", expected
    if metric in RATE_CHECKS and not expected >= min_events:
        words = EVENT_WORDS[metric_base(metric)]
        return TOO_SMALL, TOO_FEW_EXPECTED.format(expected=expected, words=words, minimum=min_events), expected
    if metric in RATE_CHECKS and not reference_events >= min_events:
        return TOO_SMALL, TOO_FEW_REFERENCE.format(observed=round(reference_events, 6), minimum=min_events), expected
    return judge(check, value, low, high, policy.gate.decision_rule), "", expected


def evaluate_checks(
    table: pd.DataFrame,
    policy: FairnessPolicy,
    *,
    attributes: Sequence[AuditedAttribute] = (),
    score_kind: str = PROBABILITY,
    has_intervals: bool = True,
) -> list[CheckResult]:
    """Every gated check on every non-reference group, judged by the policy's rule, with its power figure.

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
    zero count is evidence. Calibration checks on a ranking are *not
    applicable*. Every check, judged or not, carries the smallest disparity
    the audit could have detected (:func:`attach_detectable`).
    """
    attrs = {a.name: a for a in attributes}
    first_threshold = table["threshold"].min()
    by_key = table.set_index(["attribute", "group", "threshold"])
    results = []
    for check in policy.gate.checks:
        threshold_free = check.metric in THRESHOLD_FREE
        found = []
        for (attribute, group, threshold), row in by_key.iterrows():
            if row["is_reference"] or not check_applies(check, attribute, attrs):
                continue
            if threshold_free and threshold != first_threshold:
                continue
            ref = by_key.loc[(attribute, row["reference"], threshold)]
            status, note, expected = judge_row(check, row, ref, policy, score_kind)
            value = float(row[check.metric])
            found.append((CheckResult(
                metric=check.metric,
                attribute=attribute,
                group=group,
                reference=row["reference"],
                threshold=None if threshold_free else float(threshold),
                value=value,
                ci_low=float(row[f"{check.metric}_ci_low"]),
                ci_high=float(row[f"{check.metric}_ci_high"]),
                band=check.band_text(),
                lower=check.lower,
                upper=check.upper,
                status=status,
                distance=check.distance(value) if np.isfinite(value) else float("nan"),
                note=note,
                expected_events=expected,
            ), row, ref))
        attach_detectable(check, found, policy, has_intervals)
        results.extend(result for result, _, _ in found)
    return results


def attach_detectable(
    check: GatedCheck, found: list[tuple[CheckResult, pd.Series, pd.Series]], policy: FairnessPolicy,
    has_intervals: bool,
) -> None:
    """Set each result's ``detectable_low`` / ``detectable_high``: the disparities beyond the band that the
    audit would fail with 80% power at the check's sample size (one vectorised call per gated check)."""
    if not found:
        return
    z = critical_value(policy.gate.decision_rule, policy.bootstrap.confidence, has_intervals)
    rows = [row for _, row, _ in found]
    refs = [ref for _, _, ref in found]
    if check.metric in THRESHOLD_FREE:
        low, high = detectable_calibration_difference(
            np.array([r["base_rate"] for r in rows]), np.array([r["base_rate"] for r in refs]),
            np.array([r["count"] for r in rows]), np.array([r["count"] for r in refs]),
            check.lower, check.upper, z,
        )
    else:
        base = metric_base(check.metric)
        solve = detectable_ratio if check.metric.endswith("_ratio") else detectable_difference
        low, high = solve(
            np.array([float(r[base]) for r in refs]),
            np.array([event_denominator(base, r) for r in rows]),
            np.array([event_denominator(base, r) for r in refs]),
            check.lower, check.upper, z,
        )
    for (result, _, _), lo, hi in zip(found, low, high, strict=True):
        result.detectable_low, result.detectable_high = float(lo), float(hi)


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
