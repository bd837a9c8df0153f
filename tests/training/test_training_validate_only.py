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
