"""`svrisk validate` exit codes and output (0 valid, 1 invalid, 2 usage)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from extract.cli import MORE_PROBLEMS, app
from extract.writer import write_extract

runner = CliRunner()


@pytest.fixture
def folder(tmp_path, contract_frames):
    out = tmp_path / "extract"
    write_extract(contract_frames(), out, extracted_on="2024-04-01")
    return out


def test_valid_extract_exits_0_with_summary(folder):
    result = runner.invoke(app, [str(folder)])
    assert result.exit_code == 0, result.output
    assert "valid extract" in result.stdout
    assert "police_contacts" in result.stdout and "2020-03-03" in result.stdout
    assert "people: 5" in result.stdout
    assert "extracted_on: 2024-04-01 (from manifest.json)" in result.stdout


def test_invalid_extract_exits_1_listing_problems_by_table(folder):
    people = (folder / "people.csv").read_text().replace(",male,", ",m,", 1)
    (folder / "people.csv").write_text(people)
    (folder / "adversity.csv").write_text(
        (folder / "adversity.csv").read_text().replace("2019-03-04", "04/03/2019")
    )
    result = runner.invoke(app, [str(folder)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert "breaks the data contract in 2 place(s)" in lines[0]
    assert lines[1:] == [
        "people",
        "  people, column sex, row 1: unknown category; allowed values: female, male, unknown "
        "(value: 'm')",
        "adversity",
        "  adversity, column recorded_on, row 1: not a valid ISO date YYYY-MM-DD "
        "(years 1678-2261) (value: '04/03/2019')",
    ]


def test_long_problem_lists_are_capped_with_a_count(folder):
    text = (folder / "attendance.csv").read_text().replace("2019-09-01", "x").replace("2020-01-06", "y")
    (folder / "attendance.csv").write_text(text)
    result = runner.invoke(app, [str(folder), "--show", "2"])
    assert result.exit_code == 1
    assert MORE_PROBLEMS.format(rest=2) in result.stderr
    assert result.stderr.count("not a valid ISO date") == 2


@pytest.mark.parametrize("args", [["missing-folder"], [], ["--show", "0", "."]])
def test_usage_errors_exit_2(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2


def test_a_file_instead_of_a_folder_exits_2(folder):
    assert runner.invoke(app, [str(folder / "people.csv")]).exit_code == 2


def test_registered_as_svrisk_validate(folder):
    from svrisk.cli import app as svrisk_app

    result = runner.invoke(svrisk_app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "valid extract" in result.stdout


def test_a_contract_1_0_extract_is_read_with_term_end_derived_and_said_once(folder):
    """1.0 files have no term_end and none of the new nullable columns (contract, "Changes from 1.0")."""
    import pandas as pd

    from extract.contract import CONTRACT_VERSION, TABLES
    from extract.loader import ABSENT_NEW_COLUMNS, DERIVED_TERM_END, LAST_TERM_DAYS, load_extract

    for name, spec in TABLES.items():
        new = [c.name for c in spec.columns if c.added_in == CONTRACT_VERSION]
        if new:
            path = folder / f"{name}.csv"
            pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=new).to_csv(path, index=False)
    extract = load_extract(folder)
    attendance = extract["attendance"]
    # p01's autumn term ends the day before their spring term; every last term ends 91 days on.
    assert attendance["term_end"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-05", "2020-04-06", "2019-12-01", "2020-04-06"]
    assert LAST_TERM_DAYS == 91
    assert extract["referrals"]["outcome"].isna().all() and extract["people"]["area_code"].isna().all()
    derived = DERIVED_TERM_END.format(days=91)
    assert extract.notices.count(derived) == 1
    assert ABSENT_NEW_COLUMNS.format(table="people", columns="area_code") in extract.notices
    result = runner.invoke(app, [str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("term_end column") == 1 and "valid extract" in result.stdout
