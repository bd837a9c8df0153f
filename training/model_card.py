"""The model card of a training run: docs/model-card-template.md filled with the run's facts.

:func:`render_model_card` fills every ``${field}`` of the template from the
run's config, data and results; :mod:`training.record` logs the text as
the artifact ``model_card.md`` in every training run. The template lives in
docs/ so the panel and the data scientists edit its wording in one place; a
field the template names that the run cannot fill is an error, never a gap.
"""

from __future__ import annotations

import math
from pathlib import Path
from string import Template
from typing import Any

from registry.names import MODEL_CARD_ARTIFACT
from training.config import TrainingConfig

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "docs" / "model-card-template.md"
ARTIFACT_FILE = MODEL_CARD_ARTIFACT
ERR_UNKNOWN_FIELD = "the model card template names field(s) {fields} that a training run does not fill"
ERR_TEMPLATE_MISSING = "model card template not found: {path}"
# Column order of the performance table; a metric a model lacks (rules have no Brier) shows "-".
_TABLE_METRICS = ("roc_auc", "pr_auc", "brier", "ece")
_MODEL_LABELS = {
    "lightgbm": "LightGBM (calibrated) - the model",
    "lightgbm_uncalibrated": "LightGBM before calibration",
    "baseline_logistic": "logistic regression (baseline)",
    "baseline_ace4": "4+ ACEs rule (baseline)",
    "baseline_prior_violence": "prior violence contact rule (baseline)",
}


def _format(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


def performance_table(metrics: dict[str, dict[str, float]], capacity: int) -> str:
    """A Markdown table: one row per model, AUCs, Brier, ECE and precision/recall at capacity."""
    at_capacity = (f"precision_top{capacity}", f"recall_top{capacity}")
    header = ["model", *_TABLE_METRICS, *at_capacity]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, values in metrics.items():
        cells = [_MODEL_LABELS.get(model, model), *(_format(values.get(k)) for k in (*_TABLE_METRICS, *at_capacity))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _data_kind(params: dict[str, Any]) -> str:
    if "extract_path" not in params:
        return "a partner's own feature table"
    from extract.synthetic.truth_files import TRUTH_DIR

    # Only the synthetic generator writes _truth/ beside the contract tables.
    if (Path(str(params["extract_path"])) / TRUTH_DIR).is_dir():
        return "a synthetic extract (`svrisk generate`)"
    return "a partner's extract in the data contract's format"


def card_fields(*, run_id: str, config: TrainingConfig, params: dict[str, Any], outcome: dict[str, Any],
                metrics: dict[str, dict[str, float]], n_trials: int, git_commit: str) -> dict[str, str]:
    """Every value the template can use, as text."""
    is_extract = "extract_path" in params
    source_key = "extract" if is_extract else "table"

    def dates(name: str) -> str:
        return str(params.get(f"split_{name}") or "-").replace(",", ", ")

    return {
        "model_name": config.registered_model_name,
        "run_id": run_id,
        "horizon_days": str(outcome.get("horizon_days", "the table's")),
        "outcome_description": str(outcome["description"]),
        "data_source": str(params[f"{source_key}_path"]),
        "data_sha256": str(params[f"{source_key}_sha256"]),
        "data_kind": _data_kind(params),
        "split_train": dates("train"),
        "split_validation": dates("validation"),
        "split_test": dates("test"),
        "n_train": f"{int(params['n_train']):,}",
        "n_validation": f"{int(params['n_validation']):,}",
        "n_test": f"{int(params['n_test']):,}",
        "n_features": str(params["n_features"]),
        "include_protected": str(params["include_protected"]),
        "search_trials": str(n_trials),
        "best_iteration": str(params["best_iteration"]),
        "calibration_method": str(params["calibration_method"]),
        "seed": str(config.seed),
        "git_commit": git_commit,
        "performance_table": performance_table(metrics, config.team_capacity),
        "team_capacity": str(config.team_capacity),
    }


def render_model_card(fields: dict[str, str], template_path: Path = TEMPLATE_PATH) -> str:
    """Fill the template; raise ``ValueError`` if it names a field that ``fields`` lacks."""
    if not template_path.is_file():
        raise ValueError(ERR_TEMPLATE_MISSING.format(path=template_path))
    text = template_path.read_text(encoding="utf-8")
    # The template's editing notes (its first HTML comment) are not part of the card.
    start, end = text.find("<!--"), text.find("-->")
    if start != -1 and end > start:
        text = text[:start] + text[end + len("-->"):].lstrip("\n")
    template = Template(text)
    unknown = sorted(set(template.get_identifiers()) - set(fields))
    if unknown:
        raise ValueError(ERR_UNKNOWN_FIELD.format(fields=unknown))
    return template.substitute(fields)
