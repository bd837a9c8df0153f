"""`svrisk audit` on another tool's score file: risk deciles 1-10, `race` and `sex` written `Male`/`Female`.

The shape a new user met (issue 12): the policy's reference 'male' must match 'Male'; a decile is a
ranking, not a probability, so no calibration check is judged (and the report says why); `race` is not
a policy attribute, so it gets every gated check, and the doubled false positive rate of one group is
flagged; every check that could not be judged is listed in the summary with its reason.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from svrisk.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()


def _deciles(n: int = 6000, seed: int = 3) -> pd.DataFrame:
    """Deciles 1-10; 'flagged' is decile >= 8. Black people without an outcome are flagged twice as often."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["White", "Black", "Asian"], n, p=[0.6, 0.2, 0.2])
    sex = rng.choice(["Male", "Female"], n)
    outcome = (rng.random(n) < 0.1).astype(int)
    p_flag = np.where(outcome == 1, 0.6, np.where(race == "Black", 0.30, 0.15))
    flagged = rng.random(n) < p_flag
    decile = np.where(flagged, rng.integers(8, 11, n), rng.integers(1, 8, n))
    return pd.DataFrame({"risk_decile": decile, "reoffended": outcome, "race": race, "sex": sex})


@pytest.fixture
def deciles_csv(tmp_path):
    path = tmp_path / "published_scores.csv"
    _deciles().to_csv(path, index=False)
    return path


def _audit(path, out, *extra):
    return runner.invoke(app, [
        "audit", "--scores", str(path), "--score-col", "risk_decile", "--label-col", "reoffended",
        "--group-col", "race", "--group-col", "sex", "--threshold", "8", "--threshold", "10",
        "--out", str(out), "--resamples", "100", *extra,
    ])


def test_fairness_score_file_of_deciles_audited_as_a_ranking(deciles_csv, tmp_path):
    result = _audit(deciles_csv, tmp_path / "a")
    assert result.exit_code == 1, result.output  # a finding, not an input error
    document = json.loads((tmp_path / "a" / "audit.json").read_text())
    attributes = {a["attribute"]: a for a in document["attributes"]}

    # 'Male' is found as the policy's reference 'male', ignoring case, and the report says so.
    assert attributes["sex"]["reference"] == "Male"
    assert "ignoring letter case" in attributes["sex"]["reference_chosen"]
    # race is not a policy attribute: its largest group is the reference, said; every gated check applies.
    assert attributes["race"]["reference"] == "White" and not attributes["race"]["known"]
    assert "largest group" in attributes["race"]["reference_chosen"]

    # A decile is a ranking: no calibration check is judged, each says why.
    assert document["score_kind"] == "rank"
    calibration = [c for c in document["checks"] if c["metric"] == "calibration_difference"]
    assert calibration and {c["status"] for c in calibration} == {"not_applicable"}
    assert all("ranking, not a probability" in c["note"] for c in calibration)
    # A threshold on a ranking is "decile >= T", with the share it flags.
    shares = {f["threshold"]: f["share"] for f in document["flagged_share"]}
    assert 0.15 < shares[8.0] < 0.35 and shares[10.0] < shares[8.0]

    # The doubled false positive rate for Black people at decile >= 8 is flagged.
    fpr = {(c["attribute"], c["group"], c["threshold"]): c for c in document["checks"] if c["metric"] == "fpr_ratio"}
    black = fpr[("race", "Black", 8.0)]
    assert black["value"] == pytest.approx(2.0, rel=0.2) and black["status"] == "fail"
    assert black["detectable_high"] is not None and black["detectable_high"] < black["value"]
    assert document["verdict"]["verdict"] == "FAIL"
    assert fpr[("race", "Asian", 8.0)]["status"] in ("pass", "borderline")

    # The summary: headline, references, and every check that could not be judged with its reason.
    output = result.output
    assert output.startswith("FAIL")
    assert "the score is a ranking" in output
    assert "sex: reference 'Male', the policy's reference group 'male', matched to 'Male' ignoring letter case" in output
    assert "race: reference 'White', the largest group" in output and "every gated check applies" in output
    not_judged = [c for c in document["checks"] if c["status"] in ("too_small", "not_estimable", "not_applicable")]
    assert f"{len(not_judged)} check(s) could not be judged" in output
    for check in not_judged:
        assert check["note"] and check["note"] in output
    html = (tmp_path / "a" / "report.html").read_text()
    assert "not applicable" in html and "a rank or decile is not a probability" in html


def test_fairness_score_file_reference_override_and_column_mapping(deciles_csv, tmp_path):
    # --reference overrides; --group-col race=ethnicity judges race as the policy's ethnicity (reference white).
    result = _audit(deciles_csv, tmp_path / "b", "--reference", "sex=Female")
    document = json.loads((tmp_path / "b" / "audit.json").read_text())
    assert document["references"]["sex"] == "Female"
    mapped = runner.invoke(app, [
        "audit", "--scores", str(deciles_csv), "--score-col", "risk_decile", "--label-col", "reoffended",
        "--group-col", "race=ethnicity", "--group-col", "sex", "--threshold", "8",
        "--out", str(tmp_path / "c"), "--resamples", "50",
    ])
    assert mapped.exit_code == 1, mapped.output
    document = json.loads((tmp_path / "c" / "audit.json").read_text())
    race = next(a for a in document["attributes"] if a["attribute"] == "race")
    assert race["policy_attribute"] == "ethnicity" and race["known"] and race["reference"] == "White"
    assert "the policy's reference group 'white'" in race["reference_chosen"]
    # The policy's sex x ethnicity intersection follows the mapping.
    assert "race x sex" in document["references"] or "sex x race" in document["references"]
    assert "race (judged as ethnicity)" in mapped.output
    # Usage errors exit 2.
    for extra in (["--reference", "sex"], ["--reference", "sex=Other"], ["--score-kind", "probability"]):
        bad = _audit(deciles_csv, tmp_path / "d", *extra)
        assert bad.exit_code == 2, (extra, bad.output)
    assert result.exit_code == 1
