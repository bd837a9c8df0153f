"""docs/practitioner-guide.md read against a real served response.

Every field the guide's tables name exists in what /score returns, every
field /score returns is explained in the guide, the notice is quoted word
for word, the factor groups and natural frequencies the service returns are
the ones the guide lists and describes, and a review made with exactly the
guide's review fields and decisions is accepted by the service.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import httpx
import pytest

from serving.reviews import Decision
from serving.service import NOTICE

pytestmark = [pytest.mark.server, pytest.mark.slow]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "practitioner-guide.md"
FACTOR_LISTS = ("explanation.raising[].", "explanation.lowering[].", "explanation.support_could_address[].")
FACTOR_PREFIX = "factor."
TABLE_ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)
GROUP_ROW = re.compile(r"^\| `(\w+)` \| (\w+) \| (yes|no) \|$", re.MULTILINE)
FREQUENCY_ROW = re.compile(r"^\| ([0-9.]+) \| (.+) \|$", re.MULTILINE)


def _section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1:]
    stop = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[: stop.start()] if stop else rest


def _paths(value: object, prefix: str = "") -> set[str]:
    """Dotted field paths of a JSON value; list items as ``name[]``; factor fields as ``factor.x``."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}{key}"
            found.add(path)
            found |= _paths(item, path + ".")
    elif isinstance(value, list):
        for item in value:
            found |= _paths(item, prefix.rstrip(".") + "[].")
    return {_factor_name(p) for p in found}


def _factor_name(path: str) -> str:
    for listed in FACTOR_LISTS:
        if path.startswith(listed):
            return FACTOR_PREFIX + path.removeprefix(listed)
    return path


def test_serving_practitioner_guide_names_every_response_field(served, cases) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    documented = set(TABLE_ROW.findall(_section(guide, "## The fields of a score")))
    returned: set[str] = set()
    # Several cases, so that both factor lists are non-empty somewhere.
    for case in cases[:8]:
        response = httpx.post(served.url + "/score", json=case, headers=served.headers("practitioner"), timeout=60)
        assert response.status_code == 200, response.text
        body = response.json()
        returned |= _paths(body)
        assert body["notice"] == NOTICE
    assert any(p.startswith(FACTOR_PREFIX) for p in returned), "no factor in any response"
    assert not documented - returned, f"the guide names fields the service does not return: {documented - returned}"
    assert not returned - documented, f"the service returns fields the guide does not explain: {returned - documented}"


def test_serving_practitioner_guide_quotes_the_notice_exactly(served, cases) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    body = httpx.post(served.url + "/score", json=cases[0], headers=served.headers("practitioner"), timeout=60).json()
    assert f"> {body['notice']}\n" in guide
    notice_row = re.search(r"^\| `notice` \| \"(.+)\" \|$", guide, re.MULTILINE)
    assert notice_row is not None and notice_row.group(1) == body["notice"]


def test_serving_practitioner_guide_review_fields_are_accepted(served, cases) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    review_section = _section(guide, "## Recording your review")
    fields = TABLE_ROW.findall(review_section)
    assert fields == ["audit_id", "decision", "reason", "practitioner_band", "note"]
    decisions = re.findall(r"^- `(\w+)`:", review_section, re.MULTILINE)
    assert sorted(decisions) == sorted(typing.get_args(Decision))
    scored = httpx.post(served.url + "/score", json=cases[1], headers=served.headers("practitioner"), timeout=60)
    review = {"audit_id": scored.json()["audit_id"], "decision": "disagree",
              "reason": "the exclusion on record was rescinded", "practitioner_band": 3,
              "note": "school confirmed by phone"}
    assert set(review) == set(fields)
    response = httpx.post(served.url + "/reviews", json=review, headers=served.headers("practitioner"), timeout=60)
    assert response.status_code == 201, response.text
    assert response.json()["practitioner_band"] == 3
    assert response.json()["note"] == "school confirmed by phone"


def test_serving_practitioner_guide_groups_and_natural_frequencies_match_the_response(served, cases) -> None:
    from features.dictionary import FeatureDictionary
    from runtime.risk_language import natural_frequency

    guide = GUIDE.read_text(encoding="utf-8")
    groups = {name: (family, modifiable == "yes")
              for name, family, modifiable in GROUP_ROW.findall(_section(guide, "## The factor groups"))}
    dictionary = FeatureDictionary.load()
    assert groups == {name: (dictionary[dictionary.members[name][0]].family, spec.modifiable)
                      for name, spec in dictionary.groups.items()}
    examples = FREQUENCY_ROW.findall(_section(guide, "## Why both the absolute risk and the band are shown"))
    assert len(examples) >= 5
    for probability, sentence in examples:
        assert natural_frequency(float(probability))["sentence"] == sentence, probability
    served_groups = 0
    for case in cases[:8]:
        body = httpx.post(served.url + "/score", json=case, headers=served.headers("practitioner"), timeout=60).json()
        assert body["absolute_risk"] == natural_frequency(body["probability"])
        assert "high" not in body["band_sentence"]
        explanation = body["explanation"]
        for group in explanation["raising"] + explanation["lowering"] + explanation["support_could_address"]:
            assert (group["family"], group["modifiable"]) == groups[group["group"]]
            served_groups += 1
        assert all(g["modifiable"] for g in explanation["support_could_address"])
        assert explanation["other_factors"].startswith("no other factor moved the score by more than ")
    assert served_groups > 0
