"""The monitoring policy is validated strictly, as the fairness policy is."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from monitoring.policy import DEFAULT_POLICY_PATH, load_policy
from svrisk.cli import app

runner = CliRunner()


def _write(tmp_path, data) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _default() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text())


def test_packaged_policy_is_valid():
    policy = load_policy()
    assert policy.version.startswith("1.")
    assert policy.drift.psi_warn < policy.drift.psi_alert
    assert policy.actions.fairness in {"investigate", "retrain", "re-audit", "withdraw"}


@pytest.mark.parametrize("where", ["top", "drift"])
def test_unknown_key_is_an_error(tmp_path, where):
    data = _default()
    (data if where == "top" else data["drift"])["psi_alrt"] = 0.3
    with pytest.raises(ValueError, match="psi_alrt"):
        load_policy(_write(tmp_path, data))


def test_missing_section_and_bad_values_are_errors(tmp_path):
    data = _default()
    del data["actions"]
    with pytest.raises(ValueError, match="actions"):
        load_policy(_write(tmp_path, data))
    data = _default()
    data["drift"]["psi_warn"] = 0.3
    with pytest.raises(ValueError, match="psi_warn"):
        load_policy(_write(tmp_path, data))
    data = _default()
    data["actions"]["fairness"] = "ignore"
    with pytest.raises(ValueError, match="actions.fairness"):
        load_policy(_write(tmp_path, data))
    data = _default()
    data["version"] = "2.0"
    with pytest.raises(ValueError, match="not supported"):
        load_policy(_write(tmp_path, data))


def test_validate_only_exit_codes(tmp_path):
    result = runner.invoke(app, ["monitor", str(tmp_path), "--validate-only"])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
    data = _default()
    data["reviews"]["surprise"] = 1
    result = runner.invoke(app, ["monitor", str(tmp_path), "--validate-only", "--policy", _write(tmp_path, data)])
    assert result.exit_code == 2
    assert "surprise" in result.output


def test_fairness_policy_path_is_relative_to_the_monitoring_policy(tmp_path):
    data = _default()
    data["fairness"]["policy"] = "gate.yaml"
    policy = load_policy(_write(tmp_path, data))
    assert policy.fairness_policy_path(tmp_path / "policy.yaml") == (tmp_path / "gate.yaml").resolve()
    assert load_policy().fairness_policy_path(None) is None


def test_version_1_0_keys_are_refused_and_the_new_ones_validated(tmp_path):
    data = _default()
    data["drift"]["p_value"] = 0.001  # 1.0's significance gate: the PSI decides now
    with pytest.raises(ValueError, match="p_value"):
        load_policy(_write(tmp_path, data))
    for section, key, bad in (("performance", "top_k_if_unrecorded", 0), ("performance", "calibration_ratio", 1.0),
                              ("disclosure", "suppression_threshold", 0)):
        data = _default()
        data[section][key] = bad
        with pytest.raises(ValueError, match=key):
            load_policy(_write(tmp_path, data))
    data = _default()
    del data["disclosure"]
    with pytest.raises(ValueError, match="disclosure"):
        load_policy(_write(tmp_path, data))
