"""The needs-assessment configuration: versioned, strict, validated before any work.

Unknown keys and missing sections are errors, so a misspelt capacity or cost never
silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extract.unit_costs import UnitCost
from extract.yaml_file import YamlFileErrors, validated_yaml_file

CONFIG_VERSION = 1
DEFAULT_CONFIG = Path(__file__).with_name("needs.yaml")
ERR_CONFIG_FILE = "cannot read the needs configuration {path}: {problem}"
ERR_CONFIG_NOT_MAPPING = "the needs configuration {path} must be a YAML mapping of sections"
ERR_CONFIG_INVALID = "the needs configuration {path} is not valid:\n{problem}"
CONFIG_FILE_ERRORS = YamlFileErrors(not_found=ERR_CONFIG_FILE, unreadable=ERR_CONFIG_FILE, bad_yaml=ERR_CONFIG_FILE,
                                    not_mapping=ERR_CONFIG_NOT_MAPPING, invalid=ERR_CONFIG_INVALID)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DisclosureConfig(_Strict):
    suppression_threshold: int = Field(ge=1, description="counts below this are suppressed (10)")


class WhereConfig(_Strict):
    lookback_months: int = Field(ge=1, le=240, description="months before as-of counted for place and ED views")
    top_areas: int = Field(ge=1, le=200)
    bootstrap_replicates: int = Field(ge=50, le=5000)
    seed: int = 0


class WhenConfig(_Strict):
    forecast_months: int = Field(ge=1, le=36)
    interval: float = Field(gt=0.5, lt=1.0, description="forecast interval coverage, e.g. 0.8")


class CapacityConfig(_Strict):
    capacities: list[int] = Field(min_length=1, description="people reachable per quarter, e.g. 260")
    cirv_min_age: int = Field(ge=10, le=24)
    local_authorities: list[str] | None = Field(
        default=None, description="the areas a programme covers; None = every authority in the extract"
    )

    @field_validator("capacities")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(k < 1 for k in value):
            raise ValueError("every capacity must be at least 1")
        return sorted(set(value))


class CostConfig(_Strict):
    # The one unit cost and its uprating, shared with the impact evaluation (extract/unit_costs.py).
    unit_cost: UnitCost
    intervention_cost_per_head: float = Field(gt=0)


class NeedsConfig(_Strict):
    """``insights/needs.yaml``: every section is required."""

    version: int
    disclosure: DisclosureConfig
    where: WhereConfig
    when: WhenConfig
    capacity: CapacityConfig
    cost: CostConfig

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != CONFIG_VERSION:
            raise ValueError(f"version must be {CONFIG_VERSION}, got {value}")
        return value

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> NeedsConfig:
        """Read and validate a YAML file (the packaged default when ``path`` is None)."""
        return validated_yaml_file(Path(path) if path is not None else DEFAULT_CONFIG, cls, CONFIG_FILE_ERRORS)
