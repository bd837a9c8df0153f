"""Trauma and safeguarding: care episodes, missing episodes, victimisation, self-harm, CAMHS."""

from __future__ import annotations

import numpy as np

from extract.contract import CARE_EPISODES
from features.point_in_time import DAYS_12_MONTHS, DAYS_24_MONTHS, DAYS_PER_MONTH, CohortClock, flag

# Police categories in which being the victim counts as "victim of violence".
VIOLENT_CATEGORIES = ("violence_with_injury", "violence_without_injury", "robbery", "sexual_offence")


def trauma_features(clock: CohortClock) -> dict[str, np.ndarray]:
    """Care episodes (open now, ever, months since the latest started) and trauma events.

    What is known at as_of: an episode that started before as_of is known; it
    counts as *open* unless its ``end_on`` is also before as_of. An end dated
    on or after as_of is not yet known at as_of, so that episode was open then.
    """
    care = clock.table("care_episodes")
    out: dict[str, np.ndarray] = {}
    for kind in CARE_EPISODES:
        is_kind = care.is_in("episode", kind)
        starts = care.index("start_on", is_kind)
        ends = care.index("end_on", is_kind)
        started = starts.count()
        out[f"care_{kind}_open"] = flag(started - ends.count())
        out[f"care_{kind}_ever"] = flag(started)
        out[f"care_{kind}_months_since"] = starts.days_since_last() / DAYS_PER_MONTH
    out["care_started_24m"] = flag(care.index("start_on").count(DAYS_24_MONTHS))

    police = clock.table("police_contacts")
    missing = police.index("occurred_on", police.is_in("role", "missing_person"))
    out["missing_episodes_12m"] = missing.count(DAYS_12_MONTHS)
    out["missing_episodes_ever"] = missing.count()
    exploitation = police.index("occurred_on", police.is_in("category", "criminal_exploitation_concern"))
    out["exploitation_or_missing_12m"] = flag(exploitation.count(DAYS_12_MONTHS) + out["missing_episodes_12m"])
    victim = police.is_in("role", "victim") & police.is_in("category", VIOLENT_CATEGORIES)
    out["victim_of_violence_ever"] = flag(police.index("occurred_on", victim).count())

    health = clock.table("health_events")
    self_harm = health.index("occurred_on", health.is_in("event", "ed_self_harm"))
    out["ed_self_harm_12m"] = self_harm.count(DAYS_12_MONTHS)
    out["ed_self_harm_ever"] = flag(self_harm.count())
    out["camhs_referral_ever"] = flag(health.index("occurred_on", health.is_in("event", "camhs_referral")).count())
    return out
