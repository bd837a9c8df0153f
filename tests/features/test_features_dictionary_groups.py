"""Feature groups: every feature in one, members agree, sentences say the concept once with the values."""

from __future__ import annotations

import math

import pytest
import yaml

from extract.contract import PROTECTED_ATTRIBUTES
from features.dictionary import DICTIONARY_PATH, FeatureDictionary, placeholders

# The concepts the issue names as modifiable by a service, and some it names as fixed or past.
MODIFIABLE = {"school_attendance", "school_absence", "suspensions", "neet", "substance_misuse"}
FIXED = {"age", "adverse_childhood_experiences", "police_suspect", "police_victim", "area_deprivation"}


@pytest.fixture(scope="module")
def dictionary() -> FeatureDictionary:
    return FeatureDictionary.load()


def test_every_feature_has_a_group_and_members_agree(dictionary):
    assert set(dictionary.members) == set(dictionary.groups)
    assert sorted(m for members in dictionary.members.values() for m in members) == sorted(dictionary.names)
    for group, members in dictionary.members.items():
        entries = [dictionary[m] for m in members]
        assert len({e.family for e in entries}) == 1, group
        assert len({e.direction for e in entries if e.direction is not None}) <= 1, group
        assert dictionary.group_direction(group) in {-1, 0, 1}


def test_modifiable_only_where_a_service_can_act_never_protected_or_the_past(dictionary):
    modifiable = {name for name, group in dictionary.groups.items() if group.modifiable}
    assert MODIFIABLE <= modifiable
    assert not FIXED & modifiable
    for name in PROTECTED_ATTRIBUTES:
        assert not dictionary.group_of(name).modifiable, name
    # The near-duplicates the issue names share a group.
    assert dictionary[("attendance_3t")].group == dictionary["attendance_6t"].group
    assert dictionary["police_suspect_any_12m"].group == dictionary["police_suspect_any_13_36m"].group


def _raw() -> dict:
    return yaml.safe_load(DICTIONARY_PATH.read_text(encoding="utf-8"))


def _load(tmp_path, raw: dict) -> FeatureDictionary:
    path = tmp_path / "dictionary.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return FeatureDictionary.load(path)


def test_a_feature_without_a_group_or_a_group_that_disagrees_is_refused(tmp_path):
    raw = _raw()
    del raw["features"][0]["group"]
    with pytest.raises(ValueError, match="group"):
        _load(tmp_path, raw)
    raw = _raw()
    raw["features"][0]["group"] = "astrology"
    with pytest.raises(ValueError, match="do not define"):
        _load(tmp_path, raw)
    raw = _raw()
    for entry in raw["features"]:
        if entry["name"] == "suspensions_12m":
            entry["group"] = "school_attendance"  # direction +1 among attendance's -1
    with pytest.raises(ValueError, match="direction"):
        _load(tmp_path, raw)
    raw = _raw()
    for entry in raw["features"]:
        if entry["name"] == "age":
            entry["group"] = "police_suspect"
    with pytest.raises(ValueError, match="family"):
        _load(tmp_path, raw)
    raw = _raw()
    next(g for g in raw["groups"] if g["name"] == "sex")["modifiable"] = True
    with pytest.raises(ValueError, match="protected"):
        _load(tmp_path, raw)
    raw = _raw()
    next(g for g in raw["groups"] if g["name"] == "neet")["sentence"] = "NEET {suspensions_12m}"
    with pytest.raises(ValueError, match="not a member"):
        _load(tmp_path, raw)
    raw = _raw()
    raw["groups"].append({"name": "empty", "modifiable": False})
    with pytest.raises(ValueError, match="no member"):
        _load(tmp_path, raw)


def test_group_sentences_state_the_values_once(dictionary):
    attendance = {"no_school_record": 0.0, "attendance_3t": 0.891, "attendance_6t": 0.889,
                  "attendance_trend": math.nan}
    assert dictionary.group_sentence("school_attendance", attendance) == (
        "attendance 89% over the last 3 and 6 terms"
    )
    attendance["attendance_6t"] = 0.8
    assert dictionary.group_sentence("school_attendance", attendance) == (
        "attendance 89% over the last 3 terms and 80% over the last 6 terms"
    )
    no_record = {"no_school_record": 1.0, "attendance_3t": math.nan, "attendance_6t": math.nan,
                 "attendance_trend": math.nan}
    assert dictionary.group_sentence("school_attendance", no_record) == "no school attendance record in the last 6 terms"
    suspect = dict.fromkeys(dictionary.members["police_suspect"], 0.0)
    assert dictionary.group_sentence("police_suspect", suspect) == "no police contact as a suspect on record"
    suspect.update(police_suspect_any_12m=2.0, police_suspect_any_13_36m=1.0, police_suspect_days_since_last=1.0)
    assert dictionary.group_sentence("police_suspect", suspect) == (
        "police contacts as a suspect: 2 in the last 12 months, 1 13 to 36 months ago, the latest 1 day ago"
    )
    care = {"care_early_help_open": 1.0, "care_early_help_ever": 1.0, "care_early_help_months_since": 4.0}
    assert dictionary.group_sentence("early_help", care) == "currently receiving early help support, started 4 months ago"


@pytest.mark.parametrize("direction", ["raised", "lowered"])
def test_every_group_sentence_renders_for_zero_typical_and_missing_values(dictionary, direction):
    for group, members in dictionary.members.items():
        spec = dictionary.groups[group]
        for template in spec.templates:
            assert set(placeholders(template.text)) <= set(members), group
        cases = [
            {m: ("none" if dictionary[m].unit == "category" else 0.0) for m in members},
            {m: ("white" if dictionary[m].unit == "category" else 3.0) for m in members},
            dict.fromkeys(members, math.nan),
        ]
        for values in cases:
            sentence = dictionary.group_sentence(group, values, direction)
            assert sentence.strip() and "{" not in sentence and "nan" not in sentence.lower(), (group, values)
