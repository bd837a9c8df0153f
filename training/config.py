"""The training configuration: one versioned, strict pydantic model read from YAML.

Every training run logs the resolved configuration (``config/training.yaml``)
so that a run can be repeated exactly. Unknown keys are refused, so a typo in
a YAML file is an error rather than a silently ignored setting.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from extract.contract import AUDITED_ATTRIBUTES, DEFAULT_OUTCOME, OutcomeDefinition
from extract.yaml_file import YamlFileErrors, validated_yaml_file
from registry.names import MODEL_NAME

CONFIG_VERSION = 1
DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.yaml")

ERR_CONFIG_NOT_FOUND = "training configuration file not found: {path}"
ERR_CONFIG_NOT_MAPPING = "training configuration {path} must be a YAML mapping of settings"
ERR_CONFIG_INVALID = "training configuration {path} is invalid:\n{problem}"
ERR_CONFIG_BAD_YAML = "training configuration {path} is not valid YAML: {problem}"
ERR_UNSUPPORTED_VERSION = "training configuration version {version} is not supported (expected {expected})"
ERR_EMPTY_GRID = "search.grid needs at least one parameter set"
ERR_BAD_MONTH_DAY = "snapshot_month_day must look like 'MM-DD' (e.g. '04-01'), got {value!r}"
CONFIG_FILE_ERRORS = YamlFileErrors(not_found=ERR_CONFIG_NOT_FOUND, bad_yaml=ERR_CONFIG_BAD_YAML,
                                    not_mapping=ERR_CONFIG_NOT_MAPPING, invalid=ERR_CONFIG_INVALID)


class SearchConfig(BaseModel):
    """The small LightGBM hyperparameter search, scored on the validation period.

    Model size is deliberately modest: TreeSHAP cost grows with trees x leaves,
    and the service explains every case it scores.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(0.03, gt=0, le=1)
    max_estimators: int = Field(800, ge=1, description="Upper bound; early stopping picks the count.")
    early_stopping_rounds: int = Field(100, ge=1)
    subsample_for_bin: int = Field(200_000, ge=1_000)
    negative_sample_rate: float = Field(
        0.25, gt=0, le=1,
        description=(
            "Share of training negatives kept (seeded), re-weighted by its inverse so that "
            "probabilities stay unbiased; with about 0.3% positives, keeping a quarter of the "
            "negatives makes the search about 4x faster for a negligible loss of AUC."
        ),
    )
    extra_params: dict[str, float | int] = Field(
        default_factory=lambda: {"colsample_bytree": 0.5},
        description="LightGBM arguments shared by every grid point.",
    )
    # min_child_samples counts subsampled rows (x4 for negatives at the default rate).
    grid: list[dict[str, float | int]] = Field(
        default_factory=lambda: [
            {"num_leaves": 7, "min_child_samples": 250, "reg_lambda": 10.0},
            {"num_leaves": 15, "min_child_samples": 250, "reg_lambda": 10.0},
            {"num_leaves": 7, "min_child_samples": 100, "reg_lambda": 5.0},
            {"num_leaves": 15, "min_child_samples": 100, "reg_lambda": 5.0},
        ],
        description="LightGBM parameter sets tried; the lowest validation log loss wins.",
    )

    @field_validator("grid")
    @classmethod
    def _grid_not_empty(cls, value: list[dict[str, float | int]]) -> list[dict[str, float | int]]:
        if not value:
            raise ValueError(ERR_EMPTY_GRID)
        return value


class BaselineConfig(BaseModel):
    """Which model inputs the two rule baselines read (feature names from the dictionary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ace_count_feature: str = Field("ace_count", description="Count of recorded ACE types.")
    ace_threshold: int = Field(4, ge=1, description="The '4+ ACEs' rule flags counts >= this.")
    prior_violence_features: list[str] = Field(
        default_factory=lambda: [
            "police_suspect_serious_violence_ever",
            "police_victim_serious_violence_ever",
            "ed_assault_injury_ever",
        ],
        description="Counts of prior serious-violence contacts; the rule flags any of them > 0.",
    )


class TrainingConfig(BaseModel):
    """Everything that decides a training run besides the data itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(CONFIG_VERSION, description="Schema version of this file.")
    seed: int = Field(20240401, description="Seeds the search, the splits and the subsamples.")
    n_jobs: int = Field(2, ge=1, description="Threads for LightGBM; fixed for reproducibility.")
    experiment_name: str = "svrisk"
    registered_model_name: str = MODEL_NAME
    snapshot_month_day: str = Field(
        "04-01", description="Annual snapshot date (MM-DD) used when snapshot_dates is empty."
    )
    snapshot_dates: list[date] = Field(
        default_factory=list,
        description="Explicit snapshot dates; empty means every year on snapshot_month_day.",
    )
    train_snapshots: int = Field(
        5, ge=1,
        description="Annual snapshots in the training period (before validation and test).",
    )
    outcome: OutcomeDefinition = DEFAULT_OUTCOME
    include_protected: list[str] = Field(
        default_factory=list,
        description="Protected attributes added as model inputs (only for deliberate tests).",
    )
    team_capacity: int = Field(260, ge=1, description="Referrals a team can see (precision@k).")
    top_fractions: list[float] = Field(default_factory=lambda: [0.01, 0.05])
    calibration: Literal["auto", "isotonic", "platt"] = Field(
        "auto", description="'auto' picks the lower cross-fitted Brier on the validation period."
    )
    search: SearchConfig = SearchConfig()
    monotone_constraints: bool = Field(
        True,
        description=(
            "Hold the model to each feature's evidence-fixed direction in the feature dictionary "
            "(e.g. more suspensions never lower the score); features without one stay free."
        ),
    )
    baselines: BaselineConfig = BaselineConfig()
    ece_bins: int = Field(20, ge=2, description="Equal-count bins for the calibration error.")
    reference_size: int = Field(
        20_000, ge=100, description="Calibrated test probabilities kept for percentiles."
    )
    explainer_reference_rows: int = Field(2_000, ge=10)
    explanation_rows: int = Field(2_000, ge=10, description="Test rows for the global plots.")
    top_k_factors: int = Field(5, ge=1)

    @field_validator("snapshot_month_day")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            date.fromisoformat(f"2000-{value}")
        except ValueError as error:
            raise ValueError(ERR_BAD_MONTH_DAY.format(value=value)) from error
        return value

    @field_validator("include_protected")
    @classmethod
    def _protected_known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(AUDITED_ATTRIBUTES))
        if unknown:
            raise ValueError(f"include_protected: unknown attribute(s) {unknown}")
        return value

    @field_validator("top_fractions")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        if not value or any(not 0 < f < 1 for f in value):
            raise ValueError("top_fractions must be fractions strictly between 0 and 1")
        return value

    @model_validator(mode="after")
    def _version(self) -> TrainingConfig:
        if self.version != CONFIG_VERSION:
            raise ValueError(ERR_UNSUPPORTED_VERSION.format(version=self.version, expected=CONFIG_VERSION))
        return self

    def to_yaml(self) -> str:
        """The configuration as YAML text that :func:`load_config` reads back unchanged."""
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainingConfig:
    """Read a training configuration (the packaged default when ``path`` is None).

    ``overrides`` replace top-level keys (e.g. ``seed=7``) before validation.

    Raises
    ------
    ValueError
        If the file is missing, is not YAML, is not a mapping, or fails validation.
    """
    source = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    given = {k: v for k, v in overrides.items() if v is not None}
    return validated_yaml_file(source, TrainingConfig, CONFIG_FILE_ERRORS, overrides=given)
