"""`svrisk impact` end to end: report, MLflow run, config checks, and refusals (exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from svrisk.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory):
    from dataclasses import replace

    from extract.synthetic.extract_writer import write_synthetic_extract
    from extract.synthetic.parameters import GeneratorParameters
    from tests.evaluation.conftest import TEST_REFERRAL_INTERCEPT

    base = GeneratorParameters()
    out = tmp_path_factory.mktemp("impact") / "extract"
    write_synthetic_extract(
        out, 8000, 5, "2020-04-01", "2025-03-31",
        parameters=replace(base, referrals=replace(base.referrals, intercept=TEST_REFERRAL_INTERCEPT)),
    )
    return out


@pytest.fixture
def fast_config(tmp_path):
    path = tmp_path / "impact.yaml"
    path.write_text("version: 1\nminimum_engaged: 20\nbootstrap:\n  resamples: 20\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_impact_writes_report_and_logs_run(extract_dir, fast_config, tmp_path):
    import mlflow

    out = tmp_path / "report"
    result = runner.invoke(app, ["impact", str(extract_dir), "--out", str(out), "--config", str(fast_config)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "impact.json").read_text())
    assert set(report["estimates"]) == {"naive", "prognostic_matching", "ipw", "aipw"}
    prevented = report["episodes_prevented_per_100_treated"]
    assert prevented["low"] <= prevented["estimate"] <= prevented["high"]
    share = report["pricing"]["violence_with_injury_share"]
    assert 0 < share < 1  # robbery and weapon possession are serious violence without injury
    assert report["value_per_100_treated_gbp"]["estimate"] == pytest.approx(prevented["estimate"] * share * 14050)
    assert report["sensitivity"]["rosenbaum"]["gamma"] >= 1.0
    assert "fragile" in report["sensitivity"]["statement"] or "robust" in report["sensitivity"]["statement"]
    html = (out / "impact.html").read_text()
    assert "episodes of recorded serious violence were prevented" in html and "data:image/png;base64," in html
    runs = mlflow.search_runs(experiment_names=["svrisk-impact"])
    assert len(runs) == 1 and "metrics.aipw_estimate" in runs.columns
    # Referral itself, against never-referred young people at similar risk.
    referred = runner.invoke(
        app, ["impact", str(extract_dir), "--treatment", "referred", "--out", str(out / "referred"),
              "--config", str(fast_config)],
    )
    assert referred.exit_code == 0, referred.output
    report = json.loads((out / "referred" / "impact.json").read_text())
    assert report["treatment"] == "referred" and report["population"]["comparison_are"] == "never referred"
    assert report["population"]["comparison"] > report["population"]["treated"]
    assert "100 young people referred" in (out / "referred" / "impact.html").read_text()
    # A programme with no referrals at all is refused, never estimated.
    refused = runner.invoke(app, ["impact", str(extract_dir), "--programme", "none_such", "--out", str(out)])
    assert refused.exit_code == 2 and "no referral" in refused.output


def test_too_few_engaged_exits_2(extract_dir, tmp_path):
    config = tmp_path / "floor.yaml"
    config.write_text("version: 1\nminimum_engaged: 100000\n", encoding="utf-8")
    result = runner.invoke(app, ["impact", str(extract_dir), "--config", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "below the floor of 100000" in result.output


def test_no_referrals_table_exits_2(extract_dir, tmp_path):
    import shutil

    copy = tmp_path / "no_referrals"
    shutil.copytree(extract_dir, copy)
    (copy / "referrals.csv").unlink()
    result = runner.invoke(app, ["impact", str(copy), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "no referrals table" in result.output


def test_no_overlap_exits_2(extract_dir, tmp_path):
    config = tmp_path / "trim.yaml"
    config.write_text("version: 1\nminimum_engaged: 20\ntrimming:\n  lower: 0.98\n  upper: 0.99\n", encoding="utf-8")
    result = runner.invoke(app, ["impact", str(extract_dir), "--config", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no overlap" in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: 1\nbootstrap:\n  resample: 10\n", "resample"),
        ("bootstrap:\n  resamples: 100\n", "version"),
        ("version: 1\ntrimming:\n  lower: 0.5\n  upper: 0.4\n", "lower < upper"),
    ],
)
def test_config_is_strict(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["impact", str(tmp_path), "--config", str(config), "--validate-only"])
    assert result.exit_code == 2
    assert message in result.output


def test_validate_only_accepts_good_config(tmp_path):
    config = tmp_path / "ok.yaml"
    config.write_text("version: 1\nunit_cost:\n  uprating_index: GDP deflator\n  uprating_factor: 1.2\n  target_year: 2024/25\n")
    result = runner.invoke(app, ["impact", str(tmp_path), "--config", str(config), "--validate-only"])
    assert result.exit_code == 0 and "config ok" in result.output
