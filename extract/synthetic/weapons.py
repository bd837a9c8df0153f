"""Weapons on the synthetic police and ED rows (contract 1.1 ``weapon`` columns).

Police rows carry the Home Office knife / firearm flags for the violence,
robbery and possession categories and are empty otherwise; ED assault rows carry
the Cardiff Model's weapon. An ED row of an incident that the police also recorded
shows the same weapon (the ED's ``blunt`` is the police ``other``). The shares are
illustrative orders of magnitude (knives in about a fifth of serious violence among
young people, firearms rare), not calibrated figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from extract.synthetic.shares import draw_by_shares


def _shares(**values: float) -> dict[str, float]:
    return dict(values)


@dataclass(frozen=True)
class WeaponParameters:
    """Weapon shares by police category, and for ED-only attendances."""

    police: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "weapon_possession": _shares(knife_or_sharp=0.78, firearm=0.05, other=0.14, unknown=0.03),
            "robbery": _shares(none=0.55, knife_or_sharp=0.30, firearm=0.03, other=0.07, unknown=0.05),
            "violence_with_injury": _shares(
                none=0.66, knife_or_sharp=0.18, firearm=0.01, other=0.10, unknown=0.05
            ),
            "violence_without_injury": _shares(none=0.92, knife_or_sharp=0.03, other=0.03, unknown=0.02),
        }
    )
    ed: dict[str, float] = field(
        default_factory=lambda: _shares(
            none=0.55, knife_or_sharp=0.16, firearm=0.01, blunt=0.14, other=0.07, unknown=0.07
        )
    )
    # How a police weapon shows in the ED when both recorded the incident.
    police_other_is_blunt_share: float = 0.6


def police_weapons(rng: np.random.Generator, params: WeaponParameters, category: np.ndarray) -> np.ndarray:
    """The weapon of each police row by its category; None where no flag applies."""
    category = np.asarray(category, dtype=object)
    out = np.full(len(category), None, dtype=object)
    for name, shares in params.police.items():
        pick = category == name
        out[pick] = draw_by_shares(rng, shares, int(pick.sum()))
    return out


def ed_weapons(
    rng: np.random.Generator, params: WeaponParameters, police_weapon: np.ndarray | None, n: int
) -> np.ndarray:
    """ED weapons: from the police row's weapon where one exists (not None), else drawn."""
    out = draw_by_shares(rng, params.ed, n)
    if police_weapon is not None:
        known = np.asarray([w is not None for w in police_weapon], dtype=bool)
        mapped = np.asarray(police_weapon, dtype=object).copy()
        blunt = rng.random(n) < params.police_other_is_blunt_share
        mapped[(mapped == "other") & blunt] = "blunt"
        out[known] = mapped[known]
    return out
