"""`svrisk needs` end to end on small extracts: the files it writes, bad input, the
1.0-style extract without area codes or weapons, and no champion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from extract.synthetic.generator import generate
from extract.writer import write_extract
from insights.capacity import capacity_tables
from insights.cli import app
from insights.config import DEFAULT_CONFIG, NeedsConfig

runner = CliRunner()
NEW_COLUMNS = {"people": ["area_code"], "police_contacts": ["weapon", "area_code"], "health_events": ["weapon", "area_code"]}


@pytest.fixture(scope="module")
def synthetic():
    return generate(3000, 2, "2018-04-01", "2025-03-31")


@pytest.fixture(scope="module")
def extract_dir(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("extract")
    write_extract(synthetic.frames, out, extracted_on=synthetic.extracted_on)
    return out


@pytest.fixture(scope="module")
def empty_columns_dir(synthetic, tmp_path_factory):
    """The same extract with contract 1.1's area and weapon columns empty."""
    frames = {name: frame.copy() for name, frame in synthetic.frames.items()}
    for name, columns in NEW_COLUMNS.items():
        for column in columns:
            frames[name][column] = None
    out = tmp_path_factory.mktemp("extract_empty")
    write_extract(frames, out, extracted_on=synthetic.extracted_on)
    return out


def test_report_files_and_no_champion(extract_dir, tmp_path):
    out = tmp_path / "needs"
    result = runner.invoke(app, [str(extract_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"needs.html", "needs.json", "where_by_local_authority.csv", "where_by_area.csv",
            "where_concentration_curve.png", "ed_only_by_weapon.csv"} <= names
    summary = json.loads((out / "needs.json").read_text())
    # No model is registered in the test store: who and cost say so, the rest is there.
    assert any(line.startswith("who and cost: not computed") for line in summary["missing"])
    html = (out / "needs.html").read_text()
    assert "Not computed" in html and "Concentration" in html and "person_id" not in html
    for path in out.glob("*.csv"):
        assert "person_id" not in path.read_text().splitlines()[0]


def test_without_area_codes_or_weapons_the_rest_is_built(empty_columns_dir, tmp_path):
    out = tmp_path / "needs"
    result = runner.invoke(app, [str(empty_columns_dir), "--out", str(out), "--no-scores"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "needs.json").read_text())
    assert any("area codes" in line for line in summary["missing"])
    assert any("weapons" in line for line in summary["missing"])
    names = {p.name for p in out.iterdir()}
    assert "where_by_local_authority.csv" in names and "ed_only_by_age_band.csv" in names
    assert "where_by_area.csv" not in names and "ed_only_by_weapon.csv" not in names
    assert "area_code" in (out / "needs.html").read_text()  # the report says what is missing


@pytest.mark.parametrize("as_of", ["2030-01-01", "2000-01-01"])
def test_as_of_outside_the_extract_exits_two(extract_dir, tmp_path, as_of):
    result = runner.invoke(app, [str(extract_dir), "--as-of", as_of, "--out", str(tmp_path / "n")])
    assert result.exit_code == 2
    assert "--as-of" in result.output and "Traceback" not in result.output


def test_config_is_strict(tmp_path, extract_dir):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    assert runner.invoke(app, [str(extract_dir), "--validate-only"]).exit_code == 0
    data["cost"]["uprating_index_typo"] = "x"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, [str(extract_dir), "--config", str(bad), "--validate-only"])
    assert result.exit_code == 2 and "uprating_index_typo" in result.output
    del data["cost"]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="cost"):
        NeedsConfig.from_yaml(bad)


def test_capacity_and_break_even_arithmetic():
    scores = pd.DataFrame(
        {"person_id": [f"p{i}" for i in range(40)], "probability": np.linspace(0.5, 0.01, 40),
         "local_authority": ["a"] * 20 + ["b"] * 20}
    )
    eligible = np.ones(40, dtype=bool)
    eligible[0] = False  # the highest score is under 14
    by_band, by_la, capacity, cost = capacity_tables(
        scores, bands=np.repeat(np.arange(1, 11), 4), capacities=[5], eligible=eligible, vwi_share=0.5,
        unit_cost=10_000.0, intervention_cost=1_000.0, threshold=10,
    )
    p = scores["probability"].to_numpy()
    row = capacity.iloc[0]
    assert row["expected_episodes_top_k"] == pytest.approx(p[:5].sum(), abs=0.05)
    assert row["expected_episodes_top_k_eligible"] == pytest.approx(p[1:6].sum(), abs=0.05)
    value = p[1:6].sum() * 0.5 * 10_000
    assert row["break_even_reduction"] == pytest.approx(5 * 1_000 / value, abs=1e-3)
    # Four people a band: every band count is suppressed, and so is its cost.
    assert by_band["people"].iloc[:-1].isna().all() and cost["expected_cost_gbp"].iloc[:-1].isna().all()
    assert by_la["people"].tolist() == [20, 20, 40]


class _FakeRiskModel:
    """Stands in for the registered RiskModel: probability = a fixed function of the person."""

    reference_probabilities_ = np.linspace(0.0, 0.05, 101)

    def score(self, extract, cohort, explain=True, top_k=5):
        assert explain is False  # aggregate use: no explanations computed
        digits = cohort["person_id"].str[-2:].astype(int).to_numpy()
        return pd.DataFrame(
            {"person_id": cohort["person_id"].to_numpy(), "as_of": cohort["as_of"].to_numpy(),
             "probability": 0.0005 * digits, "base_value": 0.0, "top_raising": None, "top_lowering": None}
        )


def test_who_and_cost_through_batch_scoring(monkeypatch, extract_dir):
    """who_and_cost scores the snapshot through explanations.scoring and applies CIRV's criteria."""
    import explanations.scoring as scoring
    from extract.contract import age_in_years
    from extract.loader import load_extract
    from insights.capacity import who_and_cost
    from extract.episodes import episodes

    resolved = type("Resolved", (), {"name": "svrisk", "version": "3", "alias": "champion", "notice": None})()
    monkeypatch.setattr(scoring, "resolve_model", lambda client, alias=None, version=None: resolved)
    monkeypatch.setattr(scoring, "load_risk_model", lambda found: _FakeRiskModel())
    extract = load_extract(extract_dir)
    as_of = pd.Timestamp("2024-04-01")
    config = NeedsConfig.from_yaml()
    result = who_and_cost(extract, as_of, config, episodes(extract.tables))
    people = extract.tables["people"]
    age = age_in_years(people["birth_month"], as_of)
    cohort = people[(age >= 10) & (age <= 24)]
    p = 0.0005 * cohort["person_id"].str[-2:].astype(int).to_numpy()
    eligible = (age[(age >= 10) & (age <= 24)] >= 14).to_numpy()
    k = config.capacity.capacities[0]
    row = result.capacity.iloc[0]
    assert row["expected_episodes_top_k"] == pytest.approx(np.sort(p)[::-1][:k].sum(), abs=0.05)
    assert row["expected_episodes_top_k_eligible"] == pytest.approx(np.sort(p[eligible])[::-1][:k].sum(), abs=0.05)
    assert result.by_band["people"].iloc[-1] == len(cohort)
    assert result.model["version"] == "3"
