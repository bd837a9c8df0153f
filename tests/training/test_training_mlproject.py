"""The MLproject's entry points resolve to `svrisk train` commands the CLI accepts."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner


def test_training_mlproject_entry_points_parse(project_root: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from mlflow.projects._project_spec import load_project

    from svrisk.cli import app

    monkeypatch.chdir(project_root)  # `mlflow run .` resolves default paths from the project
    project = load_project(str(project_root))
    extract = tmp_path / "no-such-extract"
    extract.mkdir()
    command = project.get_entry_point("train").compute_command({"extract": str(extract)}, str(tmp_path))
    args = shlex.split(command)
    assert args[:3] == ["svrisk", "train", str(extract)]
    assert Path(args[args.index("--config") + 1]).resolve() == project_root / "training" / "default.yaml"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args[1:])
    assert result.exit_code == 1, result.output  # parsed fine; the empty folder is not an extract
    monkeypatch.chdir(project_root)
    (tmp_path / "t.csv").write_text("pid,y,sex\n")
    table = project.get_entry_point("train_table").compute_command(
        {"table": str(tmp_path / "t.csv"), "id": "pid", "label": "y", "protected": "sex"}, str(tmp_path))
    assert shlex.split(table)[:4] == ["svrisk", "train", "--table", str(tmp_path / "t.csv")]
