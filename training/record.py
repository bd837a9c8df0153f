"""Record a training run in MLflow: params, metrics, artifacts, the pyfunc, the registry version.

Artifacts (docs/architecture.md): ``evaluation/test_predictions.parquet``,
``evaluation/metrics.json``, ``evaluation/calibration_curve.csv``,
``evaluation/search_trials.csv``, ``plots/*.png``, ``config/training.yaml``,
``features/dictionary.yaml`` (extract models), ``outcome/definition.json``,
``explanations/`` (global SHAP plots and ``by_group.csv``), ``model_card.md``
(docs/model-card-template.md filled in, training/model_card.py) and the model
``model`` (one pyfunc), registered with alias ``candidate``.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from registry.names import (
    MODEL_ARTIFACT_PATH,
    RUN_TAG_KIND,
    RUN_TAG_OUTCOME,
    RUN_TAG_REGISTERED_VERSION,
    TAG_CHECKSUM,
)
from registry.versions import register_candidate
from training.config import TrainingConfig
from training.datasets import Dataset
from training.fitting import MODEL_KEY, TrainingResult
from training.model_card import ARTIFACT_FILE as MODEL_CARD_FILE
from training.plots import write_plots

RISK_MODEL_FILE = "risk_model.joblib"
# Requirements written with the model; listing them avoids MLflow's slow inference subprocess.
_REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "pydantic", "joblib", "pyarrow")


@dataclass
class LoggedRun:
    run_id: str
    experiment_id: str
    model_uri: str
    version: str
    artifact_sha256: str


def pip_requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in _REQUIREMENTS]


def _metric_key(text: str) -> str:
    return text.replace("@", "_at_")


def model_card_text(run_id: str, result: TrainingResult, data: Dataset, config: TrainingConfig) -> str:
    """This run's model card (docs/model-card-template.md filled in), logged as ``model_card.md``."""
    from training.model_card import card_fields, render_model_card

    return render_model_card(card_fields(
        run_id=run_id, config=config, params={**result.params}, outcome=data.outcome,
        metrics=result.metrics, n_trials=len(result.trials), git_commit=git_commit(),
    ))


def log_and_register(result: TrainingResult, data: Dataset, config: TrainingConfig,
                     progress: Callable[[str], None] | None = None) -> LoggedRun:
    """Log one run (the active tracking URI) and register its model as the new candidate."""
    from registry.tracking import tracking_store

    tell = progress or (lambda _message: None)
    with tracking_store() as uri:
        return _log(result, data, config, uri, tell)


def _log(result: TrainingResult, data: Dataset, config: TrainingConfig, uri: str,
         tell: Callable[[str], None]) -> LoggedRun:
    """One MLflow run: what was fitted and how well, the global explanations, the model, its version."""
    import mlflow

    from registry.tracking import ensure_experiment

    experiment_id = ensure_experiment(config.experiment_name, uri)
    with mlflow.start_run(experiment_id=experiment_id) as run, \
            tempfile.TemporaryDirectory(prefix="svrisk-run-") as tmp_name:
        tmp = Path(tmp_name)
        log_summary(result, data)
        log_evaluation(result, data, config, tmp, run.info.run_id)
        tell("evaluation logged")
        log_global_explanations(result, config, tmp)
        tell("explanations logged")
        model_uri = log_model(result, data, tmp)
        tell("model logged")
        version = register_candidate(
            model_uri, name=config.registered_model_name, run_id=run.info.run_id,
            outcome=json.dumps(data.outcome, sort_keys=True),
        )
        mlflow.set_tag(RUN_TAG_REGISTERED_VERSION, version.version)
        tell(f"registered {config.registered_model_name} version {version.version} as candidate")
    return LoggedRun(run_id=run.info.run_id, experiment_id=experiment_id, model_uri=model_uri,
                     version=str(version.version), artifact_sha256=version.tags[TAG_CHECKSUM])


def log_summary(result: TrainingResult, data: Dataset) -> None:
    """The run's params, tags and metrics (test metrics of every model, validation, timings)."""
    import mlflow

    mlflow.log_params({**result.params, "git_commit": git_commit()})
    mlflow.set_tags({RUN_TAG_OUTCOME: data.outcome["description"], RUN_TAG_KIND:
                     "extract" if data.feature_config is not None else "table"})
    mlflow.log_metrics({
        **{f"test_{model}_{_metric_key(k)}": v for model, values in result.metrics.items()
           for k, v in values.items()},
        **{f"validation_{k}": v for k, v in result.validation.items()},
        **result.timings,
    })


def log_evaluation(result: TrainingResult, data: Dataset, config: TrainingConfig, tmp: Path,
                   run_id: str) -> None:
    """``evaluation/``, ``plots/``, the configuration, the outcome, the dictionary and the model card."""
    import mlflow
    import pandas as pd

    evaluation = tmp / "evaluation"
    evaluation.mkdir()
    result.predictions.to_parquet(evaluation / "test_predictions.parquet", index=False)
    (evaluation / "metrics.json").write_text(json.dumps(
        {"test": result.metrics, "validation": result.validation, "primary_model": MODEL_KEY,
         "team_capacity": config.team_capacity}, indent=2, sort_keys=True))
    result.calibration_curve.to_csv(evaluation / "calibration_curve.csv", index=False)
    pd.DataFrame(result.trials).to_csv(evaluation / "search_trials.csv", index=False)
    mlflow.log_artifacts(str(evaluation), "evaluation")

    scores = {name: result.predictions[name].to_numpy()
              for name in ("probability", "baseline_logistic", "baseline_ace4", "baseline_prior_violence")
              if result.predictions[name].notna().all()}
    scores = {(MODEL_KEY if k == "probability" else k): v for k, v in scores.items()}
    write_plots(result.predictions["label"].to_numpy(), scores, MODEL_KEY, tmp / "plots",
                capacity=config.team_capacity, bins=config.ece_bins)
    mlflow.log_artifacts(str(tmp / "plots"), "plots")
    mlflow.log_text(config.to_yaml(), "config/training.yaml")
    mlflow.log_text(json.dumps(data.outcome, indent=2), "outcome/definition.json")
    if data.dictionary is not None:
        from features.dictionary import DICTIONARY_PATH

        mlflow.log_artifact(str(DICTIONARY_PATH), "features")
    mlflow.log_text(model_card_text(run_id, result, data, config), MODEL_CARD_FILE)


def log_global_explanations(result: TrainingResult, config: TrainingConfig, tmp: Path) -> None:
    """``explanations/``: global and by-group files on a seeded sample of test rows."""
    import mlflow

    from training.global_explanations import write_global_explanations

    rows = min(config.explanation_rows, len(result.X_test))
    sample = result.X_test.sample(n=rows, random_state=config.seed).sort_index()
    explained = tmp / "explanations"
    explained.mkdir()
    write_global_explanations(result.risk_model.explainer_, sample,
                              result.audit_test.loc[sample.index], explained)
    mlflow.log_artifacts(str(explained), "explanations")


def log_model(result: TrainingResult, data: Dataset, tmp: Path) -> str:
    """Log the RiskModel as the pyfunc, with its signature and a real input example; return its URI."""
    import joblib
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from runtime.pyfunc_model import RISK_MODEL_ARTIFACT, SvriskPyfunc, score_cases

    joblib.dump(result.risk_model, tmp / RISK_MODEL_FILE)
    example = data.example_input.copy()
    # Plain object column labels: MLflow compares them with a range, which pandas 3
    # deprecates for its string-dtype labels.
    example.columns = pd.Index(list(example.columns), dtype=object)
    output = score_cases(result.risk_model, example)
    info = mlflow.pyfunc.log_model(
        name=MODEL_ARTIFACT_PATH,
        python_model=SvriskPyfunc(),
        artifacts={RISK_MODEL_ARTIFACT: str(tmp / RISK_MODEL_FILE)},
        signature=infer_signature(example, output),
        input_example=example,
        pip_requirements=pip_requirements(),
    )
    return info.model_uri

def git_commit(cwd: Path | None = None) -> str:
    """The current git commit of the code (``unknown`` outside a git checkout)."""
    where = cwd or Path(__file__).resolve().parent
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"
