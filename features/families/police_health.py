"""Police contacts (as suspect and as victim, by category group) and health events."""

from __future__ import annotations

import numpy as np

from features.point_in_time import (
    DAYS_6_MONTHS,
    DAYS_12_MONTHS,
    DAYS_24_MONTHS,
    DAYS_36_MONTHS,
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
    # Any matter together: a suspect contact of any kind is a signal on its own, which
    # six separate group counts express only as an "or" across trees.
    suspect = police.index("occurred_on", police.is_in("role", "suspect"))
    recent = suspect.count(DAYS_12_MONTHS)
    out["police_suspect_any_12m"] = recent
    out["police_suspect_any_13_36m"] = suspect.count(DAYS_36_MONTHS) - recent
    # Serious violence already on record (as suspect or victim, or an assault injury seen in an
    # emergency department), whichever agency recorded it.
    serious = police.is_in("category", POLICE_CATEGORY_GROUPS["serious_violence"]) & police.is_in(
        "role", POLICE_ROLES_AS_FEATURES)
    contacts = police.index("occurred_on", serious)
    health = clock.table("health_events")
    injuries = health.index("occurred_on", health.is_in("event", "ed_assault_injury"))
    recent_any = flag(contacts.count(DAYS_12_MONTHS) + injuries.count(DAYS_12_MONTHS))
    out["serious_violence_recorded_12m"] = recent_any
    out["serious_violence_recorded_earlier"] = flag(
        contacts.count() - contacts.count(DAYS_12_MONTHS) + injuries.count() - injuries.count(DAYS_12_MONTHS))
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
