"""The whole `svrisk train` run with progress bars and the terminal summary table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import TrainingConfig, load_config
from training.record import LoggedRun, log_and_register
from training.datasets import dataset_from_extract, dataset_from_table
from training.fitting import MODEL_KEY, TrainingResult, fit_dataset

SUMMARY_MODELS = {
    MODEL_KEY: "LightGBM",
    "baseline_logistic": "logistic",
    "baseline_ace4": "4+ ACEs rule",
    "baseline_prior_violence": "prior violence rule",
}


@dataclass
class TrainingOutcome:
    config: TrainingConfig
    result: TrainingResult
    logged: LoggedRun
    tracking_uri: str

    def summary_table(self) -> Any:
        """A rich table: one row per model with AUC, PR AUC, Brier, ECE and precision@k."""
        from rich.table import Table

        k = self.config.team_capacity
        fractions = [f"top{round(f * 100):g}pct" for f in self.config.top_fractions]
        table = Table(title=f"Test period ({self.result.params['split_test']}), "
                            f"{self.result.params['n_test']} rows, "
                            f"prevalence {self.result.metrics[MODEL_KEY]['prevalence']:.2%}")
        for column in ("model", "AUC", "PR AUC", "Brier", "ECE",
                       *[f"P@{f.removeprefix('top').replace('pct', '%')}" for f in fractions],
                       f"P@{k}", f"R@{k}"):
            table.add_column(column, justify="left" if column == "model" else "right")

        def show(value: float | None, fmt: str = ".3f") -> str:
            return "-" if value is None else format(value, fmt)

        for name, label in SUMMARY_MODELS.items():
            values = self.result.metrics.get(name)
            if values is None:
                continue
            table.add_row(
                label + (f" ({self.result.params['calibration_method']})" if name == MODEL_KEY else ""),
                show(values["roc_auc"]), show(values["pr_auc"]), show(values.get("brier"), ".4f"),
                show(values.get("ece"), ".4f"),
                *[show(values[f"precision_{f}"]) for f in fractions],
                show(values[f"precision_top{k}"]), show(values[f"recall_top{k}"]),
            )
        table.caption = "P@k precision and R@k recall among the k highest scores; rules have no Brier/ECE."
        return table


def run_training(
    *,
    extract: Path | None = None,
    table: Path | None = None,
    config_path: Path | None = None,
    seed: int | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    protected: list[str] | None = None,
    time_column: str | None = None,
    config: TrainingConfig | None = None,
    console: Any = None,
    search_with: Any = None,
) -> TrainingOutcome:
    """Build the dataset, fit, log and register, with a rich progress display.

    ``config`` (an object) wins over ``config_path``; ``seed`` overrides either.
    ``search_with`` replaces the LightGBM search (:func:`training.fitting.fit_dataset`).
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from registry.tracking import resolve_tracking_uri

    if config is None:
        config = load_config(config_path, seed=seed)
    elif seed is not None:
        config = config.model_copy(update={"seed": seed})
    console = console or Console(stderr=True)
    steps = ["data", "model", "logging"]
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("training", total=len(steps) + len(config.search.grid))

        def tell(message: str) -> None:
            if message.startswith("search:"):
                progress.advance(task)
            progress.update(task, description=message[:90])

        tell("loading data")
        started = time.perf_counter()
        if extract is not None:
            data = dataset_from_extract(extract, config, progress=tell)
        else:
            data = dataset_from_table(table, id_column=id_column, label_column=label_column,
                                      protected=protected or [], time_column=time_column, config=config)
        progress.advance(task)
        data_seconds = time.perf_counter() - started
        tell("searching LightGBM on the validation period")
        result = (fit_dataset(data, config, progress=tell) if search_with is None
                  else fit_dataset(data, config, progress=tell, search_with=search_with))
        result.timings = {"time_data_s": data_seconds,
                          "time_fit_s": time.perf_counter() - started - data_seconds}
        progress.advance(task)
        tell("logging to MLflow")
        logged = log_and_register(result, data, config, progress=tell)
        progress.advance(task)
    return TrainingOutcome(config=config, result=result, logged=logged, tracking_uri=resolve_tracking_uri())
