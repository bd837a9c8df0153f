"""PNG plots of the test-period evaluation: ROC, precision-recall, calibration, capacity.

Figures come from :mod:`training.figures` (matplotlib's object API, no pyplot state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.figures import new_figure, save_png
from training.metrics import calibration_table, top_k_counts


def _figure(width: float = 6.0, height: float = 4.5) -> tuple[Any, Any]:
    figure = new_figure(width, height)
    return figure, figure.add_subplot(1, 1, 1)


def write_plots(y: np.ndarray, scores: dict[str, np.ndarray], model_name: str, out_dir: Path,
                *, capacity: int, bins: int) -> list[Path]:
    """Write roc.png, precision_recall.png, calibration.png and capacity.png; return their paths.

    ``scores`` maps a display name to scores on the test rows (rules included);
    ``model_name`` is the calibrated model's key, the only one in the
    calibration plot together with the logistic baseline.
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y, dtype=float)
    paths = []

    figure, ax = _figure()
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, score)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test period")
    ax.legend(loc="lower right", fontsize="small")
    paths.append(save_png(figure, out_dir / "roc.png"))

    figure, ax = _figure()
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y, score)
        ax.plot(recall, precision, label=name)
    ax.axhline(y.mean(), linestyle=":", color="grey", label="prevalence")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, test period")
    ax.legend(loc="upper right", fontsize="small")
    paths.append(save_png(figure, out_dir / "precision_recall.png"))

    figure, ax = _figure()
    top = 0.0
    for name in (model_name, "baseline_logistic"):
        if name in scores:
            table = calibration_table(y, scores[name], bins)
            ax.plot(table["predicted"], table["observed"], marker="o", label=name)
            top = max(top, float(table["predicted"].max()), float(table["observed"].max()))
    ax.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect")
    ax.set(xlabel="mean predicted probability (equal-count bins)", ylabel="observed rate",
           title="Calibration, test period")
    ax.legend(loc="upper left", fontsize="small")
    paths.append(save_png(figure, out_dir / "calibration.png"))

    figure, ax = _figure()
    ks = np.unique(np.linspace(1, min(len(y), max(capacity * 4, 50)), 40).astype(int))
    for name, score in scores.items():
        precision = [top_k_counts(y, score, k) / k for k in ks]
        ax.plot(ks, precision, label=name)
    ax.axvline(capacity, linestyle="--", color="black", label=f"team capacity ({capacity})")
    ax.set(xlabel="people seen (top k)", ylabel="precision at k", title="Capacity, test period")
    ax.legend(loc="upper right", fontsize="small")
    paths.append(save_png(figure, out_dir / "capacity.png"))
    return paths


def summary_frame(metrics: dict[str, dict[str, float]], capacity: int) -> pd.DataFrame:
    """One row per model: AUC, PR AUC, Brier and precision at the team capacity."""
    rows = []
    for name, values in metrics.items():
        rows.append({
            "model": name,
            "roc_auc": values.get("roc_auc"),
            "pr_auc": values.get("pr_auc"),
            "brier": values.get("brier"),
            "ece": values.get("ece"),
            f"precision@{capacity}": values.get(f"precision_top{capacity}"),
        })
    return pd.DataFrame(rows)
