"""The model card: docs/model-card-template.md filled in and logged with every training run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from training.model_card import (
    ARTIFACT_FILE,
    ERR_UNKNOWN_FIELD,
    performance_table,
    render_model_card,
)

PLACEHOLDER = re.compile(r"\$\{?\w+\}?")


def _logged_card(run_id: str, tmp: Path) -> str:
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=ARTIFACT_FILE,
                                                    dst_path=str(tmp))).read_text()


@pytest.mark.slow
def test_training_model_card_logged_for_extract_run(trained_extract, in_extract_store: str, tmp_path: Path) -> None:
    outcome = trained_extract
    card = _logged_card(outcome.logged.run_id, tmp_path)
    params = outcome.result.params
    assert not PLACEHOLDER.search(card), "an unfilled field is left in the card"
    assert "<!--" not in card  # the template's editing notes stay in the template
    assert outcome.logged.run_id in card
    assert params["extract_sha256"] in card
    assert outcome.result.params["split_test"] in card
    assert outcome.result.metrics["lightgbm"]["roc_auc"] > 0
    assert f"{outcome.result.metrics['lightgbm']['roc_auc']:.4f}" in card
    assert f"{outcome.result.metrics['baseline_logistic']['roc_auc']:.4f}" in card
    assert "For practitioner review. This score does not make a decision." in card
    assert "Trained on a synthetic extract (`svrisk generate`)." in card


def test_training_model_card_logged_for_table_run(trained_table, in_table_store: str, tmp_path: Path) -> None:
    card = _logged_card(trained_table.logged.run_id, tmp_path)
    assert not PLACEHOLDER.search(card)
    assert trained_table.result.params["table_sha256"] in card
    assert "a partner's own feature table" in card
    assert "The table's own label column 'outcome'" in card


def test_training_model_card_refuses_unknown_field(tmp_path: Path) -> None:
    template = tmp_path / "card.md"
    template.write_text("<!-- notes ${ignored} -->\n# ${model_name} ${not_a_field}\n")
    with pytest.raises(ValueError, match=re.escape(ERR_UNKNOWN_FIELD.format(fields=["not_a_field"]))):
        render_model_card({"model_name": "svrisk"}, template)
    assert render_model_card({"model_name": "svrisk", "not_a_field": "x"}, template) == "# svrisk x\n"


def test_training_model_card_performance_table_marks_missing_metrics() -> None:
    table = performance_table(
        {"lightgbm": {"roc_auc": 0.8, "pr_auc": 0.1, "brier": 0.01, "ece": 0.002,
                      "precision_top260": 0.05, "recall_top260": 0.3},
         "baseline_ace4": {"roc_auc": 0.6, "pr_auc": 0.02, "precision_top260": 0.01, "recall_top260": 0.1}},
        capacity=260,
    )
    rows = table.splitlines()
    assert rows[0] == "| model | roc_auc | pr_auc | brier | ece | precision_top260 | recall_top260 |"
    assert rows[2].startswith("| LightGBM (calibrated) - the model | 0.8000 | 0.1000 | 0.0100 | 0.0020 |")
    assert rows[3] == "| 4+ ACEs rule (baseline) | 0.6000 | 0.0200 | - | - | 0.0100 | 0.1000 |"
