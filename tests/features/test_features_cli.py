"""`svrisk features` end to end on a written extract."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from extract.writer import write_extract
from svrisk.cli import app


def test_features_command_writes_keys_features_audit_and_labels(tiny, tmp_path):
    frames = dict(tiny, referrals=pd.DataFrame(
        {"person_id": ["a"], "referred_on": ["2024-03-01"], "referral_source": ["school"]}))
    write_extract(frames, tmp_path / "extract", extracted_on="2025-07-01")
    out = tmp_path / "features.parquet"
    runner = CliRunner()
    result = runner.invoke(app, ["features", str(tmp_path / "extract"), "--as-of", "2024-04-01",
                                 "--referrals", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 3
    assert list(frame.columns[:4]) == ["person_id", "as_of", "kind", "referral_source"]
    assert {"sex", "ethnicity", "age_band", "sen", "imd_decile", "local_authority", "label"} <= set(frame.columns)
    assert frame.loc[frame["kind"] == "snapshot", "label"].tolist() == [1.0, 0.0]


def test_features_command_exit_codes(tiny, tmp_path):
    write_extract(tiny, tmp_path / "extract", extracted_on="2025-07-01")
    runner = CliRunner()
    out = str(tmp_path / "f.parquet")
    no_cohort = runner.invoke(app, ["features", str(tmp_path / "extract"), "--out", out])
    assert no_cohort.exit_code == 2
    late = runner.invoke(app, ["features", str(tmp_path / "extract"), "--as-of", "2030-01-01", "--out", out])
    assert late.exit_code == 1 and "after the extract" in late.output
    # Refused as every stage's command refuses (extract/command_refusal.py).
    assert late.output.lstrip().startswith("error: ")
    assert "Traceback" not in late.output
