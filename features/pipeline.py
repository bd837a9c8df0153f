"""The feature builder: one implementation for batch training, batch scoring and the single case.

``FeatureBuilder(config).transform(extract, cohort)`` returns a
:class:`FeatureTable` whose ``X`` holds one column per dictionary feature,
computed only from records dated strictly before each row's as_of (see
:mod:`features.point_in_time`). The configuration is a JSON-serialisable
pydantic model, so a trained model stores it and rebuilds the identical
builder when it scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from extract.contract import DEFAULT_OUTCOME, Extract, OutcomeDefinition
from features.families.ace import ace_features
from features.families.context import ages, audit_columns, context_features, person_rows
from features.families.police_health import health_features, police_features
from features.families.school import school_features
from features.families.trauma import trauma_features
from features.point_in_time import CohortClock

COHORT_COLUMNS = ("person_id", "as_of")
MISSING_COHORT_COLUMN = "the cohort needs columns person_id and as_of; missing: {missing}"
BAD_AS_OF = "cohort.as_of must be dates (datetime64) without missing values"

ProtectedInput = Literal["sex", "ethnicity", "age_band", "sen"]

# Families in the order their columns appear in X; context (age, deprivation) comes last.
FAMILY_STEPS: tuple[tuple[str, Callable[[CohortClock], dict[str, np.ndarray]]], ...] = (
    ("ace", ace_features),
    ("trauma", trauma_features),
    ("school", school_features),
    ("police", police_features),
    ("health", health_features),
)


class FeatureConfig(BaseModel):
    """What the builder emits; stored with every trained model.

    Protected characteristics (sex, ethnicity, age band, SEN) are carried in
    ``FeatureTable.audit`` and are model inputs only when listed in
    ``include_protected`` (used, for example, to train a deliberately biased
    model for the fairness gate's test). The deprivation decile is an input by
    default, as a regional driver of violence; its effect is then reported.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(1, description="Version of the feature definitions.")
    include_protected: tuple[ProtectedInput, ...] = Field(
        (), description="Protected characteristics to add to X as categorical inputs."
    )
    include_deprivation: bool = Field(
        True, description="Whether imd_decile (deprivation decile) is a model input."
    )
    outcome: OutcomeDefinition = Field(
        DEFAULT_OUTCOME, description="The outcome definition labels are built from."
    )


@dataclass
class FeatureTable:
    """Features for a cohort, row-aligned (RangeIndex 0..n-1 in cohort order).

    Attributes
    ----------
    keys : DataFrame
        person_id, as_of.
    X : DataFrame
        Model inputs, float64 (NaN = unknown, see the dictionary) or category.
    audit : DataFrame
        sex, ethnicity, age_band, sen, imd_decile, local_authority.
    feature_names : list of str
        ``X.columns`` in order.
    """

    keys: pd.DataFrame
    X: pd.DataFrame
    audit: pd.DataFrame
    feature_names: list[str]


class FeatureBuilder:
    """Point-in-time features for cohort rows of an extract.

    Parameters
    ----------
    config : FeatureConfig or dict, optional
        Defaults to ``FeatureConfig()``.
    """

    def __init__(self, config: FeatureConfig | dict | None = None) -> None:
        self.config = config

    def resolved_config(self) -> FeatureConfig:
        """The configuration as a validated :class:`FeatureConfig`."""
        if self.config is None:
            return FeatureConfig()
        if isinstance(self.config, FeatureConfig):
            return self.config
        return FeatureConfig.model_validate(self.config)

    def transform(
        self,
        extract: Extract,
        cohort: pd.DataFrame,
        *,
        progress: Callable[[str], None] | None = None,
    ) -> FeatureTable:
        """Build the features of every cohort row.

        Parameters
        ----------
        extract : Extract
            A validated extract (any path: files, generator, one single case).
        cohort : DataFrame
            Columns person_id and as_of (datetime64); other columns are ignored.
        progress : callable, optional
            Called with each family's name once it is done (for progress bars).
        """
        config = self.resolved_config()
        clock = cohort_clock(extract, cohort)
        columns: dict[str, np.ndarray] = {}
        for family, build in FAMILY_STEPS:
            columns.update(build(clock))
            if progress is not None:
                progress(family)
        people = person_rows(clock)
        age = ages(clock.as_of, people)
        context = context_features(people, age)
        if not config.include_deprivation:
            del context["imd_decile"]
        names = [*columns, *context]
        # One float64 block, features x rows, handed to pandas transposed (no copy):
        # building 100+ separate columns costs more than the features themselves for
        # a single case. Family outputs are in query order, context in cohort order.
        block = np.empty((len(names), clock.n))
        for i, values in enumerate(columns.values()):
            block[i, clock.order] = values
        for i, values in enumerate(context.values(), start=len(columns)):
            block[i] = values
        X = pd.DataFrame(block.T, columns=_column_index(tuple(names)).copy(), copy=False)
        audit = audit_columns(people, age)
        for name in config.include_protected:
            X[name] = audit[name]
        if progress is not None:
            progress("context")
        keys = pd.DataFrame(
            {
                "person_id": clock.person_id.to_numpy(dtype=object),
                "as_of": clock.as_of.to_numpy(dtype="datetime64[ns]"),
            },
            index=pd.RangeIndex(clock.n),  # given, not inferred from the columns: cheaper
        )
        # X's columns in order, without iterating its Arrow-backed column Index (slow per item).
        feature_names = list(dict.fromkeys([*names, *config.include_protected]))
        return FeatureTable(keys=keys, X=X, audit=audit, feature_names=feature_names)


@lru_cache(maxsize=16)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    """The column Index of X, built once: inferring its string dtype costs more than a single
    case's features. Callers take a shallow ``copy()`` (its own name, shared values)."""
    return pd.Index(list(names))


def cohort_clock(extract: Extract, cohort: pd.DataFrame) -> CohortClock:
    """Check the cohort's columns and index its rows against the extract's people."""
    missing = [c for c in COHORT_COLUMNS if c not in cohort.columns]
    if missing:
        raise ValueError(MISSING_COHORT_COLUMN.format(missing=missing))
    as_of = cohort["as_of"]
    if not pd.api.types.is_datetime64_any_dtype(as_of):
        raise ValueError(BAD_AS_OF)
    if np.isnat(np.asarray(as_of, dtype="datetime64[ns]")).any():
        raise ValueError(BAD_AS_OF)
    return CohortClock(extract, cohort["person_id"], as_of)
