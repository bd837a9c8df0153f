"""The monitoring policy (monitoring/policy.yaml), validated strictly like fairness/policy.yaml.

Every section is required and unknown keys are refused, so a typo is an error
(exit 2), never a silent default. The ``version`` is recorded with every
monitoring run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from extract.yaml_file import YamlFileErrors, validated_yaml_file

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")
SUPPORTED_VERSION_PREFIX = "1."

POLICY_NOT_FOUND = "monitoring policy file not found: {path}"
POLICY_NOT_MAPPING = "monitoring policy {path} must be a YAML mapping"
POLICY_INVALID = "monitoring policy {path} is invalid:\n{problem}"
POLICY_BAD_YAML = "monitoring policy {path} is not valid YAML: {problem}"
POLICY_FILE_ERRORS = YamlFileErrors(not_found=POLICY_NOT_FOUND, bad_yaml=POLICY_BAD_YAML,
                                    not_mapping=POLICY_NOT_MAPPING, invalid=POLICY_INVALID)
UNSUPPORTED_VERSION = "monitoring policy version {version!r} is not supported (expected 1.x)"
WARN_ABOVE_ALERT = "psi_warn ({warn}) must be below psi_alert ({alert})"

Action = Literal["investigate", "retrain", "re-audit", "withdraw"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Drift(_Strict):
    psi_warn: float = Field(..., gt=0)
    psi_alert: float = Field(..., gt=0)
    missing_change: float = Field(..., gt=0, le=1)
    minimum_rows: int = Field(..., ge=1)
    alert_top_inputs: int = Field(..., ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Drift:
        if self.psi_warn >= self.psi_alert:
            raise ValueError(WARN_ABOVE_ALERT.format(warn=self.psi_warn, alert=self.psi_alert))
        return self


class Performance(_Strict):
    max_auc_drop: float = Field(..., ge=0, lt=1)
    # Observed-to-expected outcome ratio now against at training: a finding outside [1/this, this].
    calibration_ratio: float = Field(..., gt=1)
    confidence: float = Field(..., gt=0.5, lt=1)
    # k for precision in the top k when the training run recorded no team capacity.
    top_k_if_unrecorded: int = Field(..., ge=1)


class Fairness(_Strict):
    policy: str
    resamples: int = Field(..., ge=0)
    every_months: int = Field(..., ge=1)
    max_rows: int = Field(..., ge=0)
    seed: int
    max_label_bias_ratio: float = Field(..., gt=1)
    label_bias_min_true_outcomes: int = Field(..., ge=1)


class Reviews(_Strict):
    max_disagreement_ratio: float = Field(..., gt=1)
    minimum_reviews: int = Field(..., ge=1)


class Disclosure(_Strict):
    # Published counts of reviews and volumes below this are suppressed (extract/disclosure.py).
    suppression_threshold: int = Field(..., ge=1)


class Actions(_Strict):
    input_drift: Action
    score_drift: Action
    performance: Action
    calibration: Action
    fairness: Action
    label_bias: Action
    reviews: Action


class MonitoringPolicy(_Strict):
    version: str
    owner: str
    drift: Drift
    performance: Performance
    fairness: Fairness
    reviews: Reviews
    disclosure: Disclosure
    actions: Actions

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not str(value).startswith(SUPPORTED_VERSION_PREFIX):
            raise ValueError(UNSUPPORTED_VERSION.format(version=value))
        return value

    def fairness_policy_path(self, policy_file: str | Path | None) -> Path | None:
        """The fairness policy to re-run: relative to ``policy_file`` (this policy's file),
        or None for the packaged fairness/policy.yaml."""
        if not self.fairness.policy:
            return None
        path = Path(self.fairness.policy)
        if not path.is_absolute():
            path = Path(policy_file or DEFAULT_POLICY_PATH).resolve().parent / path
        return path


def load_policy(path: str | Path | None = None) -> MonitoringPolicy:
    """Read and validate a monitoring policy (the packaged one by default).

    Raises
    ------
    ValueError
        If the file is missing, not YAML, or invalid; the message lists every problem.
    """
    source = Path(path) if path is not None else DEFAULT_POLICY_PATH
    return validated_yaml_file(source, MonitoringPolicy, POLICY_FILE_ERRORS)
