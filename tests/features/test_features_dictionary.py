"""The feature dictionary covers every emitted feature and every sentence renders."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from extract.contract import PROTECTED_ATTRIBUTES
from features.dictionary import FAMILIES, FeatureDictionary
from features.pipeline import FeatureBuilder, FeatureConfig


@pytest.fixture(scope="module")
def dictionary() -> FeatureDictionary:
    return FeatureDictionary.load()


def emitted(tiny_extract, config: FeatureConfig) -> pd.DataFrame:
    cohort = pd.DataFrame({"person_id": ["a", "b"], "as_of": pd.to_datetime(["2024-04-01"] * 2)})
    return FeatureBuilder(config).transform(tiny_extract, cohort).X


def test_every_emitted_feature_has_exactly_one_entry_and_no_entry_is_dead(tiny, make_extract, dictionary):
    extract = make_extract(tiny)
    default = emitted(extract, FeatureConfig())
    everything = emitted(extract, FeatureConfig(include_protected=PROTECTED_ATTRIBUTES))
    assert set(default.columns) <= set(dictionary.names)
    assert set(everything.columns) == set(dictionary.names)
    for name in dictionary.names:
        entry = dictionary[name]
        assert entry.family in FAMILIES
        assert entry.protected == (name in PROTECTED_ATTRIBUTES)
        expected_dtype = "category" if entry.unit == "category" else "float64"
        assert str(everything[name].dtype) == expected_dtype, name


def test_features_are_grouped_by_family_in_x(tiny, make_extract, dictionary):
    columns = emitted(make_extract(tiny), FeatureConfig()).columns
    families = [dictionary.family(name) for name in columns]
    # Each family's columns are contiguous, so X reads family by family.
    runs = [f for i, f in enumerate(families) if i == 0 or families[i - 1] != f]
    assert len(runs) == len(set(runs))


TYPICAL = {
    "flag": [0.0, 1.0],
    "count": [0.0, 1.0, 3.0],
    "proportion": [0.713, 0.95],
    "percentage_points": [-0.14, 0.05],
    "days": [0.0, 1.0, 45.0, 2.5],
    "months": [0.4, 14.98],
    "years": [16.0],
    "decile": [1.0, 10.0],
}
CATEGORY_VALUES = {"sex": "male", "ethnicity": "black", "age_band": "16-17", "sen": "sen_support"}


@pytest.mark.parametrize("direction", ["raised", "lowered"])
def test_every_sentence_renders_for_typical_values_and_for_missing(dictionary, direction):
    for name in dictionary.names:
        entry = dictionary[name]
        values = [CATEGORY_VALUES[name]] if entry.unit == "category" else TYPICAL[entry.unit]
        for value in [*values, math.nan, None]:
            sentence = dictionary.sentence(name, value, direction)
            assert sentence and "{" not in sentence and "nan" not in sentence.lower(), (name, value)


def test_sentences_read_as_a_practitioner_would_say_them(dictionary):
    assert dictionary.sentence("suspensions_12m", 3, "raised") == "3 suspensions in the last 12 months"
    assert dictionary.sentence("suspensions_12m", 1.0, "raised") == "1 suspension in the last 12 months"
    assert dictionary.sentence("suspensions_12m", 0, "lowered") == "no suspensions in the last 12 months"
    assert dictionary.sentence("attendance_3t", 0.71, "raised") == "attendance 71% over the last 3 terms"
    # Missing attendance says so; never "attendance 0%".
    assert dictionary.sentence("attendance_3t", math.nan, "raised") == "no school attendance record in the last 6 terms"
    assert dictionary.sentence("ethnicity", "black", "lowered") == "recorded ethnic group black"
    with pytest.raises(ValueError, match="direction"):
        dictionary.sentence("age", 15, "sideways")
    with pytest.raises(KeyError, match="not in the feature dictionary"):
        dictionary.sentence("shoe_size", 9, "raised")


def test_a_malformed_dictionary_is_refused(tmp_path):
    path = tmp_path / "dictionary.yaml"
    path.write_text("version: 1\nfeatures:\n- name: x\n  family: astrology\n  description: a made up feature\n"
                    "  unit: count\n  raised: '{value}'\n  lowered: '{value}'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="family"):
        FeatureDictionary.load(path)
