"""A probability, a band and a percentile in words a practitioner reads at a glance.

One place for the wording, so the workspace's pages and (later) the API's
explanations say the same thing. Natural frequencies ("about 4 in 100 young
people") are understood better than percentages (evidence sheet, risk
communication); the denominator grows for rare outcomes so the count stays a
whole number people can picture.
"""

from __future__ import annotations

from serving.risk_bands import N_BANDS

OUTCOME_PHRASE = "are recorded as involved in serious violence within 12 months"
ERR_PROBABILITY = "probability must be a number between 0 and 1"


def natural_frequency(probability: float) -> str:
    """``probability`` as "about N in 100" (or in 1,000 / 10,000 when rare).

    >>> natural_frequency(0.04)
    'about 4 in 100'
    >>> natural_frequency(0.0032)
    'about 3 in 1,000'
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(ERR_PROBABILITY)
    for denominator in (100, 1_000, 10_000):
        count = round(probability * denominator)
        if count >= 1:
            return f"about {count:,} in {denominator:,}"
    return "fewer than 1 in 10,000"


def outcome_sentence(probability: float) -> str:
    """The whole sentence: "about 4 in 100 young people with records like these are ..."."""
    return f"{natural_frequency(probability).capitalize()} young people with records like these {OUTCOME_PHRASE}."


def band_meaning(band: int) -> str:
    """What a risk band says, and what it does not."""
    return (
        f"Band {band} of {N_BANDS}: this score is in the {_ordinal(band)} tenth of the reference "
        "population, counting from the lowest. A band compares young people; it is not a "
        "threshold for action."
    )


def percentile_meaning(percentile: float) -> str:
    return (
        f"{percentile:.0f}% of young people in the reference population scored the same or lower."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
