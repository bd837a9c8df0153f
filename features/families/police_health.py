"""Police contacts (as suspect and as victim, by category group) and health events."""

from __future__ import annotations

import numpy as np

from features.point_in_time import (
    DAYS_6_MONTHS,
    DAYS_12_MONTHS,
    DAYS_24_MONTHS,
    CohortClock,
    flag,
)

# The ten police categories in six groups a practitioner recognises; one feature per
# group keeps the matrix readable (80 role x category x window columns would not be).
POLICE_CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "serious_violence": ("violence_with_injury", "robbery", "weapon_possession"),
    "other_violence": ("violence_without_injury", "sexual_offence"),
    "drugs": ("drugs_supply", "drugs_possession"),
    "exploitation": ("criminal_exploitation_concern",),
    "antisocial": ("antisocial_behaviour",),
    "other": ("other",),
}
POLICE_ROLES_AS_FEATURES = ("suspect", "victim")
WINDOWS: dict[str, int | None] = {
    "6m": DAYS_6_MONTHS,
    "12m": DAYS_12_MONTHS,
    "24m": DAYS_24_MONTHS,
    "ever": None,
}


def police_features(clock: CohortClock) -> dict[str, np.ndarray]:
    """Counts of contacts per role and category group over 6, 12, 24 months and ever,
    and days since the latest contact per role (NaN: never)."""
    police = clock.table("police_contacts")
    out: dict[str, np.ndarray] = {}
    for as_role in POLICE_ROLES_AS_FEATURES:
        in_role = police.is_in("role", as_role)
        for group, categories in POLICE_CATEGORY_GROUPS.items():
            contacts = police.index("occurred_on", in_role & police.is_in("category", categories))
            for window, days in WINDOWS.items():
                out[f"police_{as_role}_{group}_{window}"] = contacts.count(days)
        out[f"police_{as_role}_days_since_last"] = police.index("occurred_on", in_role).days_since_last()
    return out


def health_features(clock: CohortClock) -> dict[str, np.ndarray]:
    """Emergency-department assault injuries, substance-related attendances and treatment."""
    health = clock.table("health_events")
    assault = health.index("occurred_on", health.is_in("event", "ed_assault_injury"))
    substance = health.index("occurred_on", health.is_in("event", "ed_substance_related"))
    treatment = health.index("occurred_on", health.is_in("event", "substance_misuse_treatment"))
    return {
        "ed_assault_injury_12m": assault.count(DAYS_12_MONTHS),
        "ed_assault_injury_ever": assault.count(),
        "ed_assault_injury_days_since_last": assault.days_since_last(),
        "ed_substance_related_12m": substance.count(DAYS_12_MONTHS),
        "ed_substance_related_ever": substance.count(),
        "substance_treatment_ever": flag(treatment.count()),
    }
