"""Batch scoring and `svrisk score` with a RiskModel built by the project's own pipeline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explanations.scoring import (
    OUTPUT_COLUMNS,
    check_output_path,
    extract_for_people,
    resolve_model,
    score_extract,
    write_scores,
)
from registry.versions import ERR_NO_MODEL

AS_OF = "2024-04-01"


@pytest.fixture(scope="module")
def cohort(pipeline_model):
    from features.cohort import snapshot_cohort

    return snapshot_cohort(pipeline_model.extract, [AS_OF])


def test_chunked_scoring_equals_one_pass(pipeline_model, cohort):
    risk = pipeline_model.risk_model
    rows = []
    got = score_extract(
        risk, pipeline_model.extract, cohort, model_version="7", chunk_size=400, on_chunk=rows.append
    )
    expected = risk.score(pipeline_model.extract, cohort)
    assert sum(rows) == len(cohort) and len(rows) == -(-len(cohort) // 400) > 1
    assert list(got.columns) == list(OUTPUT_COLUMNS)
    assert got["person_id"].tolist() == cohort["person_id"].tolist()
    assert (got["kind"] == "snapshot").all() and (got["model_version"] == "7").all()
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=0, atol=1e-12)
    assert got["explanation"].tolist() == expected["explanation"].tolist()
    assert got["absolute_risk"].tolist() == expected["absolute_risk"].tolist()
    top = int(np.argmax(got["probability"]))
    assert got["absolute_risk"].iloc[top] == risk.absolute_risk(got["probability"].iloc[top])["sentence"]
    group = json.loads(got["explanation"].iloc[top])["raising"][0]
    assert set(group) == {"group", "family", "modifiable", "sentence", "contribution", "features"}
    assert set(group["features"][0]) == {"feature", "value", "sentence", "contribution"}


def test_referral_rows_keep_their_source(pipeline_model):
    from features.cohort import referral_cohort

    referrals = referral_cohort(pipeline_model.extract)
    got = score_extract(pipeline_model.risk_model, pipeline_model.extract, referrals, model_version="1")
    assert (got["kind"] == "referral").all()
    assert got["referral_source"].astype(str).tolist() == referrals["referral_source"].astype(str).tolist()


def test_extract_for_people_keeps_only_their_records(pipeline_model):
    extract = pipeline_model.extract
    ids = pd.Series(extract["people"]["person_id"].iloc[:25])
    part = extract_for_people(extract, ids)
    assert part.extracted_on == extract.extracted_on and part.has_referrals == extract.has_referrals
    for name, frame in part.tables.items():
        assert set(frame["person_id"]) <= set(ids)
        assert frame.dtypes.equals(extract[name].dtypes)
        assert len(frame) == extract[name]["person_id"].isin(set(ids)).sum()


def test_write_scores_round_trips(pipeline_model, cohort, tmp_path):
    scores = score_extract(pipeline_model.risk_model, pipeline_model.extract, cohort.iloc[:40], model_version="3")
    back = pd.read_parquet(write_scores(scores, tmp_path / "a" / "scores.parquet"))
    pd.testing.assert_frame_equal(back, scores, check_dtype=False)
    text = pd.read_csv(write_scores(scores, tmp_path / "scores.csv"), dtype={"model_version": str})
    assert text["as_of"].unique().tolist() == [AS_OF]
    assert json.loads(text["explanation"].iloc[0]) == json.loads(scores["explanation"].iloc[0])
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        check_output_path(tmp_path / "scores.xlsx")
    with pytest.raises(ValueError, match="chunk_size"):
        score_extract(pipeline_model.risk_model, pipeline_model.extract, cohort, model_version="1", chunk_size=0)
    with pytest.raises(ValueError, match="empty"):
        score_extract(pipeline_model.risk_model, pipeline_model.extract, cohort.iloc[:0], model_version="1")


def _register(risk_model, tmp_path):
    """Log the RiskModel as the project's pyfunc and register it as the candidate (as training does)."""
    import joblib
    import mlflow

    from runtime.pyfunc_model import RISK_MODEL_ARTIFACT, SvriskPyfunc
    from registry.versions import register_candidate

    path = tmp_path / "risk_model.joblib"
    joblib.dump(risk_model, path)
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=SvriskPyfunc(),
            artifacts={RISK_MODEL_ARTIFACT: str(path)},
            pip_requirements=["mlflow"],
        )
    return register_candidate(info.model_uri, name="svrisk", run_id=run.info.run_id, outcome="{}")


@pytest.mark.slow
def test_svrisk_score_cli_resolves_champion_candidate_and_version(pipeline_model, cohort, tmp_path):
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from svrisk.cli import app

    runner = CliRunner()
    extract_dir = str(pipeline_model.extract_dir)
    out = tmp_path / "scores.csv"

    nothing = runner.invoke(app, ["score", extract_dir, "--as-of", AS_OF, "--out", str(out)])
    assert nothing.exit_code == 1, nothing.output
    assert "svrisk train" in nothing.output and "Traceback" not in nothing.output
    with pytest.raises(ValueError, match="no model is registered"):
        resolve_model(MlflowClient())
    assert "train one with `svrisk train DIR`" in ERR_NO_MODEL

    version = _register(pipeline_model.risk_model, tmp_path)
    fallback = runner.invoke(app, ["score", extract_dir, "--as-of", AS_OF, "--out", str(out)])
    assert fallback.exit_code == 0, fallback.output
    assert "NOT passed the fairness gate" in " ".join(fallback.output.split())
    scores = pd.read_csv(out, dtype={"model_version": str, "person_id": str})
    assert scores["model_version"].unique().tolist() == [str(version.version)]
    expected = pipeline_model.risk_model.score(pipeline_model.extract, cohort)
    np.testing.assert_allclose(scores["probability"], expected["probability"], rtol=1e-9)

    asked = runner.invoke(app, ["score", extract_dir, "--as-of", AS_OF, "--alias", "champion", "--out", str(out)])
    assert asked.exit_code == 1 and "alias 'champion'" in asked.output

    client = MlflowClient()
    client.set_registered_model_alias("svrisk", "champion", version.version)
    resolved = resolve_model(client)
    assert (resolved.alias, resolved.version, resolved.notice) == ("champion", str(version.version), None)
    parquet = tmp_path / "scores.parquet"
    pinned = runner.invoke(
        app, ["score", extract_dir, "--referrals", "--version", str(version.version), "--out", str(parquet)]
    )
    assert pinned.exit_code == 0, pinned.output
    assert (pd.read_parquet(parquet)["kind"] == "referral").all()
    missing = runner.invoke(app, ["score", extract_dir, "--referrals", "--version", "99", "--out", str(parquet)])
    assert missing.exit_code == 1 and "no version 99" in missing.output

    # A champion set by hand claims a gate verdict it cannot show: refused, saying why.
    unsigned = runner.invoke(app, ["score", extract_dir, "--referrals", "--out", str(out)])
    assert unsigned.exit_code == 1 and "no signed gate record" in " ".join(unsigned.output.split())

    # The artifact is checked against its registry checksum before use.
    client.set_model_version_tag("svrisk", version.version, "artifact_sha256", "0" * 64)
    tampered = runner.invoke(
        app, ["score", extract_dir, "--referrals", "--version", str(version.version), "--out", str(out)]
    )
    assert tampered.exit_code == 1 and "does not match" in " ".join(tampered.output.split())


def test_svrisk_score_usage_errors(tmp_path):
    from typer.testing import CliRunner

    from svrisk.cli import app

    runner = CliRunner()
    out = str(tmp_path / "s.parquet")
    both = runner.invoke(app, ["score", str(tmp_path), "--as-of", AS_OF, "--referrals", "--out", out])
    neither = runner.invoke(app, ["score", str(tmp_path), "--out", out])
    alias_and_version = runner.invoke(
        app, ["score", str(tmp_path), "--as-of", AS_OF, "--alias", "candidate", "--version", "1", "--out", out]
    )
    bad_out = runner.invoke(app, ["score", str(tmp_path), "--as-of", AS_OF, "--out", str(tmp_path / "s.txt")])
    bad_date = runner.invoke(app, ["score", str(tmp_path), "--as-of", "2024-13-01", "--out", out])
    for result in (both, neither, alias_and_version, bad_out, bad_date):
        assert result.exit_code == 2, result.output
    missing_extract = runner.invoke(app, ["score", str(tmp_path / "nope"), "--as-of", AS_OF, "--out", out])
    assert missing_extract.exit_code == 1 and "Traceback" not in missing_extract.output
