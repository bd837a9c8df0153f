"""Every CLI command's --help has an example, and errors point to a doc that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from svrisk.cli import app

PIPELINE_COMMANDS = {"generate", "validate", "features", "train", "score", "audit", "publish", "serve",
                     "serve-key", "serve-package"}
POINTER_MODULES = ("extract.cli", "extract.synthetic.cli", "features.cli", "training.cli",
                   "explanations.cli", "fairness.cli", "serving.cli", "insights.cli")
DOC_PATH = re.compile(r"docs/[\w-]+\.md")
SECTION = re.compile(r"'([^']+)'")


def _commands(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Typer's groups are not click.Group instances in every Typer version; they all hold `commands`.
    if hasattr(command, "commands"):
        return [path for name, sub in command.commands.items() for path in _commands(sub, (*prefix, name))]
    return [prefix]


def test_docs_every_command_help_has_an_example() -> None:
    commands = _commands(typer.main.get_command(app))
    assert PIPELINE_COMMANDS <= {" ".join(c) for c in commands}
    runner = CliRunner()
    missing = []
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, result.output
        if "Example" not in result.output:
            missing.append(" ".join(path))
    assert not missing, f"--help without an example: {missing}"


@pytest.mark.parametrize("module", POINTER_MODULES)
def test_docs_error_pointers_name_existing_docs_and_sections(module: str, project_root: Path) -> None:
    import importlib

    pointer = importlib.import_module(module).SEE_DOCS
    doc = DOC_PATH.search(pointer)
    assert doc, f"{module}.SEE_DOCS names no docs/*.md file: {pointer!r}"
    text = (project_root / doc.group(0)).read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}
    for section in SECTION.findall(pointer):
        assert section in headings, f"{doc.group(0)} has no section {section!r}"


def test_docs_validation_failure_points_to_the_guide(tmp_path: Path, contract_frames) -> None:
    from extract.cli import SEE_DOCS
    from extract.writer import write_extract

    frames = contract_frames()
    frames["people"].loc[0, "sex"] = "not-a-sex"
    write_extract(frames, tmp_path / "bad")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "bad")], terminal_width=300)
    assert result.exit_code == 1
    assert "not-a-sex" in result.output
    assert result.output.splitlines()[0].endswith(SEE_DOCS)


def test_docs_generate_failure_points_to_the_guide(tmp_path: Path) -> None:
    from extract.synthetic.cli import SEE_DOCS

    (tmp_path / "taken.txt").write_text("x")
    result = CliRunner().invoke(app, ["generate", "--people", "10", "--seed", "1", "--out", str(tmp_path)],
                                terminal_width=300)
    assert result.exit_code == 1
    assert "already" in result.output and "holds files" in result.output
    assert result.output.rstrip().endswith(SEE_DOCS)
