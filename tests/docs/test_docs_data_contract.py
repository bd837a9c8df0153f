"""docs/data-contract.md is exactly what `svrisk contract --markdown` renders from extract/contract.py."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from extract.contract import TABLES
from extract.contract_markdown import DOC_PATH, REGENERATE, contract_markdown
from svrisk.cli import app


def test_docs_data_contract_is_the_rendered_contract(project_root: Path) -> None:
    committed = (project_root / DOC_PATH).read_text(encoding="utf-8")
    assert committed == contract_markdown(), f"docs/data-contract.md is stale: run `{REGENERATE}`"


def test_docs_data_contract_names_every_table_column_and_value() -> None:
    text = contract_markdown()
    for table in TABLES.values():
        assert f"## {table.name}" in text
        for column in table.columns:
            assert f"| {column.name} |" in text
            assert all(value in text for value in column.categories)


def test_svrisk_contract_command(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["contract", "--markdown"])
    assert printed.exit_code == 0 and printed.output == contract_markdown()
    written = runner.invoke(app, ["contract", "--markdown", "--out", str(tmp_path / "c.md")])
    assert written.exit_code == 0 and (tmp_path / "c.md").read_text() == contract_markdown()
    assert runner.invoke(app, ["contract"]).exit_code == 2
