"""The single-case schema: generated from the contract, strict, and the rules on dates."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from extract.contract import TABLES
from extract.loader import ExtractValidationError
from features.single_case import SingleCase, case_to_extract, cases_to_extract

TODAY = dt.date(2025, 1, 10)


def base_case() -> dict:
    return {
        "as_of": "2024-04-01",
        "person": {"person_id": "p1", "birth_month": "2008-03-01", "sex": "male", "ethnicity": "white",
                   "imd_decile": 2, "sen": "none", "local_authority": "coventry"},
        "exclusions": [{"excluded_on": "2024-02-01", "exclusion": "suspension", "days": 2}],
        "police_contacts": [{"occurred_on": "2024-05-01", "role": "suspect", "category": "robbery"}],
    }


def test_schema_follows_the_contract():
    schema = SingleCase.model_json_schema()
    assert set(schema["properties"]) == {"as_of", "person", *[t for t in TABLES if t != "people"]}
    police = schema["$defs"]["PoliceContactsRecord"]
    assert police["additionalProperties"] is False
    assert set(police["properties"]["category"]["enum"]) == set(TABLES["police_contacts"].column("category").categories)
    assert all(p.get("description") for p in police["properties"].values())


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update(nickname="x"),
        lambda c: c["person"].update(full_name="x"),
        lambda c: c["person"].update(sex="m"),
        lambda c: c["person"].update(imd_decile=11),
        lambda c: c["exclusions"][0].update(person_id="p1"),
        lambda c: c["police_contacts"][0].update(category="burglary"),
        lambda c: c["police_contacts"][0].update(weapon="machete"),
        # Issue 21: bounded inputs, so nothing overflows later or floods the audit trail.
        lambda c: c.update(attendance=[{"term_start": "2023-09-01", "term_end": "2023-12-20",
                                        "sessions_possible": int("9" * 400), "sessions_attended": 1,
                                        "unauthorised_absences": 0}]),
        lambda c: c["exclusions"][0].update(days=1e400),
        lambda c: c["person"].update(person_id="p" * 201),
        lambda c: c["person"].update(person_id="p\x001"),
        lambda c: c["person"].update(local_authority="coventry\n"),
    ],
    ids=["unknown top field", "identifier field", "unknown category", "out of range", "person_id in a record",
         "unknown police category", "unknown weapon", "400-digit count", "infinite days",
         "person_id too long", "NUL in person_id", "control character in text"],
)
def test_a_case_outside_the_contract_is_refused(change):
    case = base_case()
    change(case)
    with pytest.raises(ValidationError):
        SingleCase.model_validate(case)


@pytest.mark.parametrize("days", [-1, 0, None])
def test_a_suspension_needs_positive_days(days):
    """The loader's rule (contract 1.1), the same for one case as for a file."""
    case = base_case()
    case["exclusions"][0]["days"] = days
    with pytest.raises(ExtractValidationError, match="suspension"):
        case_to_extract(case, today=TODAY)


def test_records_on_or_after_as_of_are_allowed_and_ignored():
    extract, cohort = case_to_extract(base_case(), today=TODAY)
    assert len(extract["police_contacts"]) == 1 and len(cohort) == 1
    assert cohort["as_of"].iloc[0] == dt.datetime(2024, 4, 1)


def test_future_dates_are_refused():
    case = base_case()
    case["as_of"] = "2025-01-11"
    with pytest.raises(ValueError, match="after today"):
        case_to_extract(case, today=TODAY)
    case = base_case()
    case["police_contacts"][0]["occurred_on"] = "2025-01-10"
    with pytest.raises(ExtractValidationError):
        case_to_extract(case, today=TODAY)


def test_cases_of_the_same_person_are_scored_separately():
    with pytest.raises(ValueError, match="more than one case"):
        cases_to_extract([base_case(), base_case()], today=TODAY)
    with pytest.raises(ValueError, match="at least one case"):
        cases_to_extract([], today=TODAY)
