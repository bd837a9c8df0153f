"""Absolute risk as a natural frequency and factor sizes at display precision (runtime.risk_language)."""

from __future__ import annotations

import pytest

from runtime.risk_language import (
    format_points,
    natural_frequency,
    other_factors_sentence,
    shows,
)


def test_the_issue_example_reads_as_the_issue_says():
    assert natural_frequency(0.003)["sentence"] == (
        "about 3 in 1,000 young people with records like these are recorded as involved within 12 months; 997 are not"
    )


@pytest.mark.parametrize(
    ("probability", "count", "denominator"),
    [(0.43, 43, 100), (0.02, 2, 100), (0.012, 12, 1_000), (0.0025, 3, 1_000), (0.0014, 14, 10_000),
     (0.0001, 1, 10_000), (0.00004, 0, 10_000), (0.0, 0, 10_000), (1.0, 100, 100)],
)
def test_the_denominator_is_the_smallest_that_shows_two_people(probability, count, denominator):
    frequency = natural_frequency(probability)
    assert (frequency["count"], frequency["denominator"]) == (count, denominator)
    assert frequency["count"] + frequency["not_involved"] == denominator
    if count == 0:
        assert frequency["sentence"].startswith(f"fewer than 1 in {denominator:,} ")


def test_the_window_follows_the_outcome_definition():
    assert "within 730 days" in natural_frequency(0.1, horizon_days=730)["sentence"]
    assert "in the outcome window" in natural_frequency(0.1, horizon_days=None)["sentence"]
    for bad in (-0.1, 1.5, float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="between 0 and 1"):
            natural_frequency(bad)


def test_factor_sizes_at_display_precision():
    assert format_points(0.0007) == "+0.07 percentage points"
    assert format_points(-0.00012) == "-0.01 percentage points"
    assert shows(0.00005) and not shows(0.000049)
    assert other_factors_sentence(0.0) == "no other factor moved the score by more than 0.01 percentage points"
    assert other_factors_sentence(0.00004) == "no other factor moved the score by more than 0.01 percentage points"
    assert other_factors_sentence(0.00034) == "no other factor moved the score by more than 0.04 percentage points"
    assert other_factors_sentence(0.0003) == "no other factor moved the score by more than 0.03 percentage points"

