"""The impact evaluation's versioned, strict configuration (`svrisk impact --config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from extract.unit_costs import UnitCost
from extract.yaml_file import YamlFileErrors, validated_yaml_file

ERR_CONFIG_NOT_FOUND = "impact config file not found: {path}"
ERR_CONFIG_BAD_YAML = "impact config {path} is not valid YAML: {problem}"
ERR_CONFIG_NOT_MAPPING = "impact config {path} must be a YAML mapping of settings"
ERR_CONFIG_INVALID = "impact config {path} is invalid:\n{problem}"
CONFIG_FILE_ERRORS = YamlFileErrors(not_found=ERR_CONFIG_NOT_FOUND, bad_yaml=ERR_CONFIG_BAD_YAML,
                                    not_mapping=ERR_CONFIG_NOT_MAPPING, invalid=ERR_CONFIG_INVALID)
BAD_TRIM = "trimming bounds must satisfy 0 <= lower < upper <= 1, got lower={lower}, upper={upper}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trimming(_Strict):
    """Propensity bounds: people outside [lower, upper] have no comparable counterpart."""

    lower: float = Field(0.02, ge=0.0, lt=1.0)
    upper: float = Field(0.95, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Trimming:
        if not self.lower < self.upper:
            raise ValueError(BAD_TRIM.format(lower=self.lower, upper=self.upper))
        return self


class Bootstrap(_Strict):
    resamples: int = Field(200, ge=20, description="Resamples (models refitted in each).")
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    seed: int = 0


class Matching(_Strict):
    caliper_sd: float = Field(0.2, gt=0.0, description="Caliper on the prognostic logit, in its SDs.")


class Sensitivity(_Strict):
    fragile_e_value: float = Field(
        2.0, gt=1.0, description="An interval bound's E-value below this is reported as fragile."
    )


class ReferredComparison(_Strict):
    """``--treatment referred``: never-referred young people drawn as the comparison group."""

    per_referral: int = Field(4, ge=1, description="Comparison rows drawn per referral row.")
    seed: int = 0


class ImpactConfig(_Strict):
    """Every number the evaluation uses; each run records it."""

    version: Literal[1]
    minimum_engaged: int = Field(
        50, ge=10, description="Fewest engaged people (after trimming) for an estimate; fewer is refused."
    )
    trimming: Trimming = Trimming()
    bootstrap: Bootstrap = Bootstrap()
    matching: Matching = Matching()
    sensitivity: Sensitivity = Sensitivity()
    referred_comparison: ReferredComparison = ReferredComparison()
    unit_cost: UnitCost = UnitCost()


def load_config(path: str | Path | None) -> ImpactConfig:
    """The defaults, or a YAML file validated strictly (unknown key = error).

    Raises
    ------
    ValueError
        If the file is missing, is not YAML, is not a mapping, or fails validation.
    """
    if path is None:
        return ImpactConfig(version=1)
    return validated_yaml_file(Path(path), ImpactConfig, CONFIG_FILE_ERRORS)
