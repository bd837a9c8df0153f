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
    police = extract["police_contacts"]
    qualifying_police = police["role"].isin(outcome.police_roles).to_numpy() & police[
        "category"
    ].isin(outcome.police_categories).to_numpy()
    health = extract["health_events"]
    qualifying_health = health["event"].isin(outcome.health_events).to_numpy()
    codes = np.concatenate(
        (
            clock.person_codes(police["person_id"][qualifying_police]),
            clock.person_codes(health["person_id"][qualifying_health]),
        )
    )
    days = np.concatenate(
        (
            day_numbers(police["occurred_on"][qualifying_police]),
            day_numbers(health["occurred_on"][qualifying_health]),
        )
    )
    events = clock.events(codes, days)
    label = (events.count_from(outcome.horizon_days) > 0).astype(np.float64)
    end_day = clock.as_of_days + outcome.horizon_days
    extracted_day = day_numbers(pd.Series([extract.extracted_on]))[0]
    label[end_day > extracted_day] = np.nan
    return pd.Series(label, index=cohort.index, name=LABEL_COLUMN)
