"""Labels from the outcome definition (data contract, "The outcome")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from extract.contract import DEFAULT_OUTCOME, Extract, OutcomeDefinition
from features.pipeline import cohort_clock
from features.point_in_time import day_numbers

LABEL_COLUMN = "label"


def build_labels(
    extract: Extract, cohort: pd.DataFrame, outcome: OutcomeDefinition = DEFAULT_OUTCOME
) -> pd.Series:
    """1.0 where a qualifying record is dated in ``[as_of, as_of + horizon_days)``, else 0.0.

    NaN where the window is not fully observed: records are complete only for
    dates before ``extract.extracted_on``, so a row is labelled only when
    ``as_of + horizon_days <= extracted_on``. The Series is aligned to
    ``cohort.index`` and named ``label``.
    """
    clock = cohort_clock(extract, cohort)
    police = clock.table("police_contacts")
    health = clock.table("health_events")
    qualifying_police = police.is_in("role", outcome.police_roles) & police.is_in(
        "category", outcome.police_categories
    )
    qualifying_health = health.is_in("event", outcome.health_events)
    police_days, _ = police.days("occurred_on")
    health_days, _ = health.days("occurred_on")
    codes = np.concatenate((police.codes[qualifying_police], health.codes[qualifying_health]))
    days = np.concatenate((police_days[qualifying_police], health_days[qualifying_health]))
    events = clock.events(codes, days)
    label = clock.restore((events.count_from(outcome.horizon_days) > 0).astype(np.float64))
    end_day = day_numbers(cohort["as_of"]) + outcome.horizon_days
    extracted_day = day_numbers(pd.Series([extract.extracted_on]))[0]
    label[end_day > extracted_day] = np.nan
    return pd.Series(label, index=cohort.index, name=LABEL_COLUMN)
