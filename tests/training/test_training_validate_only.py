from pathlib import Path

from typer.testing import CliRunner

from svrisk.cli import app


def test_training_validate_only_accepts_default_and_refuses_broken(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["train", "--validate-only"])
    assert good.exit_code == 0, good.output
    assert "is valid" in good.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nshoe_size: 42\n")
    bad = runner.invoke(app, ["train", "--config", str(broken), "--validate-only"])
    assert bad.exit_code == 1
    assert "shoe_size" in bad.output
    assert "Traceback" not in bad.output
    # Nothing was trained or logged.
    assert not (Path.cwd() / "mlruns").exists()


def test_training_malformed_yaml_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [1\n  seed: 7\n")
    result = CliRunner().invoke(app, ["train", "--config", str(broken), "--validate-only"])
    assert result.exit_code == 1
    assert "is not valid YAML" in " ".join(result.output.split())  # rich wraps long lines
    assert "Traceback" not in result.output
