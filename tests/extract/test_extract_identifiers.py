"""Direct identifiers by value: true positives with valid check digits, no false alarms on the
generator's own ids and codes or on numbers whose check digit is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from extract import identifiers as I
from extract.contract import TABLES


@pytest.mark.parametrize(("value", "kind"), [
    ("9434765919", I.NHS_NUMBER),  # the NHS's published example
    ("943 476 5919", I.NHS_NUMBER),
    ("NHS no 943-476-5919 on file", I.NHS_NUMBER),
    ("B801200005001", I.UPN),  # (8*2 + 1*4 + 2*5 + 5*10 + 1*13) % 23 = 1: B
    ("b801200005001", I.UPN),
    ("A80120000500A", None),  # temporary UPN, wrong check letter
    ("CV1 2WT", I.POSTCODE),
    ("sw1a1aa", I.POSTCODE),
    ("lives at B33 8TH", I.POSTCODE),
    ("jo.bloggs@example.org", I.EMAIL),
    ("07700 900123", I.TELEPHONE),
    ("+44 7700 900123", I.TELEPHONE),
    ("(020) 7946 0958", I.TELEPHONE),
    ("01632960001", I.TELEPHONE),
])
def test_identifiers_are_found(value, kind):
    assert I.identifier_in(value) == kind


def test_a_temporary_upn_with_its_check_letter_is_found():
    body = "80120000500A"
    assert I.identifier_in(I.upn_check_letter(body) + body) == I.UPN


@pytest.mark.parametrize("value", [
    "9434765918", "943 476 5910",  # NHS shape, wrong check digit
    "C801200005001", "B801200005002",  # UPN shape, wrong check letter
    "0000012345", "0412345678",  # UK numbers never start 00 or 04
    "2024-01-05", "p0000001", "p0200000", "E01012345", "W01000123", "E01 012345",
])
def test_invalid_check_digits_and_lookalikes_are_not_identifiers(value):
    assert I.identifier_in(value) is None


def test_no_false_alarm_on_the_generators_ids_and_codes():
    """Person ids as the generator writes them (p + 7 digits; wider at 10M people and up),
    every LSOA-shaped code, every category value and local authority name."""
    ids = [f"p{i:07d}" for i in range(0, 10_000_000, 997)] + [f"p{i:08d}" for i in range(0, 10**8, 99_991)]
    lsoa = [f"{c}01{i:06d}" for c in "EW" for i in range(0, 1_000_000, 37)]
    categories = sorted({v for spec in TABLES.values() for col in spec.columns for v in col.categories})
    places = ["coventry", "wolverhampton", "walsall", "birmingham", "dudley", "sandwell", "solihull",
              "cirv", "early_help"]
    values = ids + lsoa + categories + places
    found = I.identifiers(values)  # the Arrow screen (many distinct values)
    assert len(values) > I._VECTORISE_FROM and not np.any(found != None)  # noqa: E711
    assert all(I.identifier_in(v) is None for v in categories + places + ids[:500] + lsoa[:500])


def test_every_valid_nhs_number_in_a_range_is_found_and_no_invalid_one():
    numbers = [f"{i:010d}" for i in range(4_000_000_000, 4_000_012_000)]
    found = I.identifiers(numbers) == I.NHS_NUMBER
    expected = np.array([I.nhs_check_digit_valid(n) for n in numbers])
    assert np.array_equal(found, expected) and 0.05 < expected.mean() < 0.15
