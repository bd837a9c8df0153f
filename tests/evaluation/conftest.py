"""Small synthetic extracts with more referrals than the calibrated rate, and their truth."""

from __future__ import annotations

from dataclasses import replace

import pytest

# Referral intercept raised from -9.5: about 2,000 referrals from 12,000 people.
TEST_REFERRAL_INTERCEPT = -8.0


def impact_extract(seed: int, selection: str = "observed", odds_ratio: float = 0.8, people: int = 12_000):
    """(extract, interventions truth) for one seed."""
    from extract.loader import extract_from_frames
    from extract.synthetic.generator import generate
    from extract.synthetic.interventions import InterventionParameters
    from extract.synthetic.parameters import GeneratorParameters

    base = GeneratorParameters()
    params = replace(base, referrals=replace(base.referrals, intercept=TEST_REFERRAL_INTERCEPT))
    synthetic = generate(
        people, seed, "2020-04-01", "2025-03-31", parameters=params,
        interventions=InterventionParameters(selection=selection, effect_odds_ratio=odds_ratio),
    )
    return extract_from_frames(synthetic.frames, extracted_on=synthetic.extracted_on), synthetic


def true_effect_on_engaged(result, synthetic) -> float:
    """The estimand: mean over the engaged kept after trimming of P(Y | engaged) - P(Y | not),
    recorded involvement in the 12 months after referral, from _truth's potential outcomes."""
    from extract.synthetic.interventions import true_effect_on_treated

    return true_effect_on_treated(result.kept_keys, synthetic.interventions)


@pytest.fixture(scope="session")
def small_impact_extract():
    return impact_extract(seed=3)
