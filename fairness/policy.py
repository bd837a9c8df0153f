"""The fairness policy: what the ethics panel gates on, validated strictly.

The policy lives in ``fairness/policy.yaml`` and is owned by the panel, not by
the model developers. Every section is required and unknown keys are refused,
so a typo or a missing section is an error, never a silent default. The
``version`` is recorded on every gated model version (``gate.policy_version``).

Thresholds are *probabilities*: a case whose calibrated probability is at or
above a threshold counts as flagged. Probabilities (rather than top-k
capacities) keep a flag's meaning fixed whichever population is audited and
match ``svrisk audit --threshold``; the report shows how many people each
threshold flags, so the panel can relate it to team capacity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from extract.yaml_file import YamlFileErrors, validated_yaml_file

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")
SUPPORTED_VERSION_PREFIX = "1."

POLICY_NOT_FOUND = "fairness policy file not found: {path}"
POLICY_NOT_MAPPING = "fairness policy {path} must be a YAML mapping"
POLICY_INVALID = "fairness policy {path} is invalid:\n{problem}"
POLICY_BAD_YAML = "fairness policy {path} is not valid YAML: {problem}"
POLICY_FILE_ERRORS = YamlFileErrors(not_found=POLICY_NOT_FOUND, bad_yaml=POLICY_BAD_YAML,
                                    not_mapping=POLICY_NOT_MAPPING, invalid=POLICY_INVALID)
UNSUPPORTED_POLICY_VERSION = "fairness policy version {version!r} is not supported (expected 1.x)"
EMPTY_BAND = "tolerance for {metric} needs a lower or an upper bound"
BAD_BAND = "tolerance for {metric}: lower {lower} is above upper {upper}"
DUPLICATE_THRESHOLDS = "thresholds must be distinct, got {values}"
BAD_INTERSECTION = "intersection {pair} must name two different attributes"
DUPLICATE_CHECK = "metric {metric} is gated twice"
UNKNOWN_CHECK_ATTRIBUTE = "check {metric} names attribute {attribute!r}, which the policy does not audit"
UNKNOWN_REFERENCE_ATTRIBUTE = "reference_groups names attribute {attribute!r}, which the policy does not audit"
INTERSECTION_SEPARATOR = " x "

# Metrics the gate can judge. Ratios and differences are the group's value
# against the reference group's at the same threshold; calibration_difference
# is (mean predicted - observed rate) in the group minus the same in the
# reference group, so it does not depend on a threshold.
GateableMetric = Literal[
    "selection_rate_ratio",
    "tpr_ratio",
    "fpr_ratio",
    "fnr_ratio",
    "precision_ratio",
    "selection_rate_difference",
    "tpr_difference",
    "fpr_difference",
    "fnr_difference",
    "precision_difference",
    "calibration_difference",
]
GATEABLE_METRICS: tuple[str, ...] = get_args(GateableMetric)
# Metrics conditioned on true positives need enough positives to mean anything.
POSITIVE_CONDITIONED: frozenset[str] = frozenset(
    {"tpr_ratio", "fnr_ratio", "tpr_difference", "fnr_difference"}
)
THRESHOLD_FREE: frozenset[str] = frozenset({"calibration_difference"})
# Every threshold-dependent check compares a rate of events (flagged people,
# false positives, misses, ...) and is judged only when enough of those events
# are expected in the group (``groups.minimum_expected_events``).
RATE_CHECKS: frozenset[str] = frozenset(GATEABLE_METRICS) - THRESHOLD_FREE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatedCheck(_Strict):
    """One gated metric and the band its value must lie in (bounds inclusive)."""

    metric: GateableMetric
    lower: float | None = None
    upper: float | None = None
    attributes: list[str] | None = Field(
        None, description="attributes (or 'a x b' intersections) the check applies to; None = all audited"
    )
    description: str = ""

    def applies_to(self, attribute: str) -> bool:
        return self.attributes is None or attribute in self.attributes

    @model_validator(mode="after")
    def _band(self) -> GatedCheck:
        if self.lower is None and self.upper is None:
            raise ValueError(EMPTY_BAND.format(metric=self.metric))
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(BAD_BAND.format(metric=self.metric, lower=self.lower, upper=self.upper))
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the band."""
        return (self.lower is None or value >= self.lower) and (self.upper is None or value <= self.upper)

    def distance(self, value: float) -> float:
        """How far ``value`` lies outside the band (0 when inside)."""
        if self.lower is not None and value < self.lower:
            return self.lower - value
        if self.upper is not None and value > self.upper:
            return value - self.upper
        return 0.0

    def band_text(self) -> str:
        if self.lower is not None and self.upper is not None:
            return f"[{self.lower:g}, {self.upper:g}]"
        if self.lower is not None:
            return f">= {self.lower:g}"
        return f"<= {self.upper:g}"


class Gate(_Strict):
    """Which checks are gated and how a check with an uncertain estimate is judged.

    ``decision_rule``:

    - ``point_estimate``: a check fails when its point estimate lies outside
      the band, whatever the confidence interval. A check whose point estimate
      is inside but whose 95% interval reaches outside is *borderline*: it
      passes, and the report explains it in plain English. A wide interval
      never rescues a bad point estimate, because too little data is no
      evidence of fairness; a human can still override, on the record.
    - ``confident_breach``: a check fails only when the whole interval lies
      outside the band; a point estimate outside the band with an interval
      that reaches back in is borderline.

    A borderline check whose *estimate* lies outside the band makes the
    verdict REVIEW (see :mod:`fairness.verdict`); ``review_requires_approval``
    says whether REVIEW needs a named approver before anything is published.
    """

    decision_rule: Literal["point_estimate", "confident_breach"]
    checks: list[GatedCheck] = Field(min_length=1)
    review_requires_approval: bool = Field(
        True,
        description=(
            "a REVIEW verdict (no check fails, but a borderline check's estimate lies outside its band) "
            "publishes only with a named approver and a reason; false publishes it as a pass would "
            "(the behaviour before policy 1.2: set it only with a new policy version)"
        ),
    )

    @field_validator("checks")
    @classmethod
    def _unique(cls, value: list[GatedCheck]) -> list[GatedCheck]:
        seen: set[str] = set()
        for check in value:
            if check.metric in seen:
                raise ValueError(DUPLICATE_CHECK.format(metric=check.metric))
            seen.add(check.metric)
        return value


class Groups(_Strict):
    """Which attributes are audited, their intersections, references and size floors."""

    attributes: list[str] = Field(min_length=1)
    intersections: list[tuple[str, str]]
    reference_groups: dict[str, str] = Field(
        description="attribute -> reference group; an attribute not listed uses its largest group"
    )
    minimum_group_size: int = Field(ge=1)
    minimum_positives: int = Field(
        ge=0, description="groups with fewer observed positives are too small to judge TPR/FNR checks"
    )
    minimum_expected_events: float = Field(
        ge=0,
        description=(
            "a rate check is judged only when the group would have at least this many events at the "
            "reference group's rate (e.g. reference FPR x group negatives), and the reference has as many"
        ),
    )

    @field_validator("intersections")
    @classmethod
    def _pairs(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for pair in value:
            if pair[0] == pair[1]:
                raise ValueError(BAD_INTERSECTION.format(pair=list(pair)))
        return value

    @property
    def audited_names(self) -> list[str]:
        """Attribute names as they appear in audit rows, intersections as ``a x b``."""
        return list(self.attributes) + [intersection_name(p) for p in self.intersections]

    @model_validator(mode="after")
    def _references_known(self) -> Groups:
        for attribute in self.reference_groups:
            if attribute not in self.audited_names:
                raise ValueError(UNKNOWN_REFERENCE_ATTRIBUTE.format(attribute=attribute))
        return self


class Bootstrap(_Strict):
    """Percentile bootstrap for the confidence intervals (seeded, so reports repeat)."""

    resamples: int = Field(ge=0, description="0 switches confidence intervals off")
    confidence: float = Field(gt=0, lt=1)
    seed: int


class Performance(_Strict):
    """Performance floors: the model must beat the named baselines and be calibrated."""

    auc_must_beat: list[str] = Field(description="baseline score columns whose AUC the model must exceed")
    auc_margin: float = Field(ge=0, description="the model's AUC must exceed each baseline's by at least this")
    max_ece: float = Field(gt=0, le=1, description="expected calibration error ceiling")
    ece_bins: int = Field(ge=2, le=100)


class FairnessPolicy(_Strict):
    """The whole policy, as read from ``policy.yaml``."""

    version: str
    owner: str
    thresholds: list[float] = Field(min_length=1)
    groups: Groups
    gate: Gate
    bootstrap: Bootstrap
    performance: Performance

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_VERSION_PREFIX):
            raise ValueError(UNSUPPORTED_POLICY_VERSION.format(version=value))
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[float]) -> list[float]:
        for t in value:
            if not 0.0 < t < 1.0:
                raise ValueError(f"threshold {t} must be a probability strictly between 0 and 1")
        if len(set(value)) != len(value):
            raise ValueError(DUPLICATE_THRESHOLDS.format(values=value))
        return sorted(value)

    @model_validator(mode="after")
    def _check_attributes_known(self) -> FairnessPolicy:
        names = self.groups.audited_names
        for check in self.gate.checks:
            for attribute in check.attributes or ():
                if attribute not in names:
                    raise ValueError(
                        UNKNOWN_CHECK_ATTRIBUTE.format(metric=check.metric, attribute=attribute)
                    )
        return self

    def check(self, metric: str) -> GatedCheck | None:
        """The gated check for ``metric``, or None when it is not gated."""
        for item in self.gate.checks:
            if item.metric == metric:
                return item
        return None


def intersection_name(pair: tuple[str, str] | list[str]) -> str:
    """The audit-row name of an intersection, e.g. ``sex x ethnicity``."""
    return INTERSECTION_SEPARATOR.join(pair)


def load_policy(path: str | Path | None = None) -> FairnessPolicy:
    """Read and validate a policy file (the packaged ``policy.yaml`` by default).

    Raises
    ------
    ValueError
        If the file is missing, is not YAML, or does not validate; the message
        lists every problem with its location.
    """
    source = Path(path) if path is not None else DEFAULT_POLICY_PATH
    return validated_yaml_file(source, FairnessPolicy, POLICY_FILE_ERRORS)
