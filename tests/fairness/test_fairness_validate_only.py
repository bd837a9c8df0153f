from pathlib import Path

from typer.testing import CliRunner

from svrisk.cli import app


def test_fairness_publish_validate_only_checks_the_policy(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["publish", "--validate-only"])
    assert good.exit_code == 0, good.output
    assert "is valid" in good.output

    broken = tmp_path / "policy.yaml"
    broken.write_text('version: "1.1"\nthresholds: [0.01]\n')
    bad = runner.invoke(app, ["publish", "--policy", str(broken), "--validate-only"])
    assert bad.exit_code == 1
    assert "invalid" in bad.output
    assert "Traceback" not in bad.output
