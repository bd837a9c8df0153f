"""The fairness policy is strict: a broken policy is an error, never a default."""

from __future__ import annotations

import pytest
import yaml

from fairness.policy import DEFAULT_POLICY_PATH, load_policy


def _write(tmp_path, data):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def policy_data():
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text())


def test_fairness_default_policy_loads(project_root):
    policy = load_policy(project_root / "fairness" / "policy.yaml")
    assert policy.version == "1.2"  # 1.2 added gate.review_requires_approval
    assert policy.groups.minimum_expected_events == 5
    assert policy.thresholds == sorted(policy.thresholds)
    assert policy.check("fpr_ratio").band_text() == "[0.8, 1.25]"
    assert policy.check("calibration_difference").contains(0.019)
    assert not policy.check("calibration_difference").contains(0.021)
    assert "sex x ethnicity" in policy.groups.audited_names
    assert policy.check("selection_rate_ratio") is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("version"), "version"),
        (lambda d: d.pop("gate"), "gate"),
        (lambda d: d.pop("performance"), "performance"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["groups"].update(minimum_group_sise=5), "minimum_group_sise"),
        (lambda d: d["groups"].pop("minimum_expected_events"), "minimum_expected_events"),
        (lambda d: d["groups"].update(minimum_expected_events=-1), "minimum_expected_events"),
        (lambda d: d.update(version="2.0"), "not supported"),
        (lambda d: d.update(thresholds=[0.1, 1.5]), "strictly between 0 and 1"),
        (lambda d: d.update(thresholds=[0.1, 0.1]), "distinct"),
        (lambda d: d["gate"]["checks"].append({"metric": "fpr_ratio", "upper": 2}), "gated twice"),
        (lambda d: d["gate"]["checks"].append({"metric": "tpr_ratio"}), "lower or an upper"),
        (lambda d: d["gate"]["checks"].append({"metric": "tpr_ratio", "lower": 2, "upper": 1}), "is above upper"),
        (lambda d: d["gate"]["checks"].append({"metric": "auc_ratio", "lower": 1}), "metric"),
        (lambda d: d["gate"]["checks"][0].update(attributes=["shoe_size"]), "shoe_size"),
        (lambda d: d["groups"]["reference_groups"].update(shoe_size="9"), "shoe_size"),
        (lambda d: d["gate"].update(decision_rule="vibes"), "decision_rule"),
        (lambda d: d["groups"].update(intersections=[["sex", "sex"]]), "two different"),
    ],
)
def test_fairness_broken_policy_is_a_clear_error(tmp_path, policy_data, mutate, message):
    mutate(policy_data)
    with pytest.raises(ValueError, match=message):
        load_policy(_write(tmp_path, policy_data))


def test_fairness_policy_file_problems(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_policy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [1\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_policy(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_policy(bad)
