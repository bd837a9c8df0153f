"""Global and by-group explanations, written as PNG and CSV files for the training run.

Every figure is in probability points of the calibrated probability, the same
units a practitioner sees in a single case's explanation (see
:mod:`runtime.shap_explainer`); the feature table also carries the mean
|SHAP| in log-odds for data scientists used to that scale.

Files (all in ``out_dir``):

- ``mean_abs_by_feature.csv`` / ``.png``: mean |contribution| per feature.
- ``mean_abs_by_family.csv`` / ``.png``: mean |sum of a family's contributions|
  per case, i.e. the family's net effect on a case, not the sum of its
  features' magnitudes (features of one family may pull both ways).
- ``beeswarm.png``: every case's contribution per feature (top features),
  coloured by the feature's value (grey where missing).
- ``dependence_<feature>.png``: contribution against value for the top features.
- ``by_group.csv`` / ``by_group.png``: mean contribution of each family within
  each group of each audited attribute (sex, ethnicity, age band, SEN,
  deprivation decile), so an ethics panel can see whether, say, police
  features drive one group's scores more than another's. Long format:
  ``attribute, group, n, mean_probability, family, mean_contribution,
  mean_abs_contribution``; missing attribute values form the group ``missing``.

Figures come from :mod:`training.figures` (matplotlib's object API, no pyplot state).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from extract.contract import PROTECTED_ATTRIBUTES
from training.figures import new_figure, save_png

GROUP_ATTRIBUTES: tuple[str, ...] = PROTECTED_ATTRIBUTES + ("imd_decile",)
MISSING_GROUP = "missing"
TOP_DEPENDENCE = 4
TOP_BEESWARM = 15
BEESWARM_POINTS = 5_000
PLOT_SEED = 0

ERR_NOT_FRAME = "{} must be a pandas DataFrame, got {}"
ERR_EMPTY = "X has no rows to explain"
ERR_ALIGN = "audit has {} rows but X has {}; they must be aligned row by row"
ERR_NO_ATTRIBUTES = "audit has none of the group attributes {}; columns: {}"

BY_GROUP_COLUMNS = (
    "attribute",
    "group",
    "n",
    "mean_probability",
    "family",
    "mean_contribution",
    "mean_abs_contribution",
)


def write_global_explanations(
    explainer: Any, X: pd.DataFrame, audit: pd.DataFrame, out_dir: str | Path
) -> list[Path]:
    """Write the global and by-group explanation files; return their paths.

    Parameters
    ----------
    explainer : ProbabilityShapExplainer
        Fitted.
    X : DataFrame
        Model inputs to summarise (e.g. the test period).
    audit : DataFrame
        Audit columns aligned row by row with ``X`` (the FeatureTable's
        ``.audit``); the attributes of ``GROUP_ATTRIBUTES`` that it holds are
        used.
    out_dir : path
        Created if needed.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(ERR_NOT_FRAME.format("X", type(X).__name__))
    if not isinstance(audit, pd.DataFrame):
        raise ValueError(ERR_NOT_FRAME.format("audit", type(audit).__name__))
    if len(X) == 0:
        raise ValueError(ERR_EMPTY)
    if len(audit) != len(X):
        raise ValueError(ERR_ALIGN.format(len(audit), len(X)))
    attributes = [a for a in GROUP_ATTRIBUTES if a in audit.columns]
    if not attributes:
        raise ValueError(ERR_NO_ATTRIBUTES.format(list(GROUP_ATTRIBUTES), list(audit.columns)))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    phi = explainer.log_odds_contributions(X)
    _, contrib_array, probability = explainer.to_probability(phi)
    names = list(explainer.feature_names_)
    contrib = pd.DataFrame(contrib_array, columns=names)
    families = explainer.feature_families
    family_frame = family_contributions(contrib, families)

    log_odds = pd.Series(np.abs(phi[:, :-1]).mean(axis=0), index=names)
    by_feature = _importance(contrib, "feature")
    by_feature.insert(1, "family", by_feature["feature"].map(families))
    by_feature["mean_abs_shap_log_odds"] = by_feature["feature"].map(log_odds)
    by_family = _importance(family_frame, "family")
    written: list[Path] = []
    for table, key, title in (
        (by_feature, "feature", "Mean |contribution| by feature"),
        (by_family, "family", "Mean |net contribution| by feature family"),
    ):
        stem = out / f"mean_abs_by_{key}"
        written.append(_csv(table, stem.with_suffix(".csv")))
        written.append(
            _bar_png(table[key].tolist(), table["mean_abs_contribution"].to_numpy(), title, stem.with_suffix(".png"))
        )

    prepared = explainer.prepare(X).reset_index(drop=True)
    ranked = by_feature["feature"].tolist()
    written.append(_beeswarm_png(contrib, prepared, ranked[:TOP_BEESWARM], out / "beeswarm.png"))
    for name in ranked[:TOP_DEPENDENCE]:
        written.append(_dependence_png(contrib[name], prepared[name], name, out / f"dependence_{_slug(name)}.png"))

    table = by_group_table(family_frame, probability, audit.reset_index(drop=True), attributes)
    written.append(_csv(table, out / "by_group.csv"))
    written.append(_by_group_png(table, attributes, out / "by_group.png"))
    return written


def _importance(contrib: pd.DataFrame, key: str) -> pd.DataFrame:
    """Mean |contribution| and mean contribution per column, largest magnitude first."""
    return pd.DataFrame(
        {
            key: list(contrib.columns),
            "mean_abs_contribution": contrib.abs().mean().to_numpy(),
            "mean_contribution": contrib.mean().to_numpy(),
        }
    ).sort_values("mean_abs_contribution", ascending=False, kind="mergesort").reset_index(drop=True)


def family_contributions(contrib: pd.DataFrame, families: dict[str, str]) -> pd.DataFrame:
    """Per-case sum of contributions within each family (columns in first-seen family order)."""
    order = list(dict.fromkeys(families[c] for c in contrib.columns))
    grouped = contrib.T.groupby(pd.Index([families[c] for c in contrib.columns]), sort=False).sum().T
    return grouped[order]


def by_group_table(
    family_frame: pd.DataFrame,
    probability: np.ndarray,
    audit: pd.DataFrame,
    attributes: list[str],
) -> pd.DataFrame:
    """Mean family contribution within each group of each attribute (long format, ``BY_GROUP_COLUMNS``)."""
    rows = []
    values = family_frame.reset_index(drop=True)
    for attribute in attributes:
        groups = group_labels(audit[attribute])
        members_of = groups.groupby(groups, sort=False).groups
        for group in sorted(members_of, key=_group_sort_key):
            index = np.asarray(members_of[group])
            members = values.loc[index]
            mean_probability = float(np.mean(probability[index]))
            for family in values.columns:
                rows.append(
                    (
                        attribute,
                        group,
                        len(index),
                        mean_probability,
                        family,
                        float(members[family].mean()),
                        float(members[family].abs().mean()),
                    )
                )
    return pd.DataFrame(rows, columns=list(BY_GROUP_COLUMNS))


def group_labels(column: pd.Series) -> pd.Series:
    """Text group labels: whole numbers without ``.0``, missing values as ``missing``."""
    def label(value: Any) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return MISSING_GROUP
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return pd.Series([label(v) for v in column.astype(object)], index=column.index, dtype=object)


def _group_sort_key(label: str) -> tuple[int, float, str]:
    # Numbers in numeric order (deprivation deciles), then text, then "missing".
    if label == MISSING_GROUP:
        return (2, 0.0, label)
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


# --------------------------------------------------------------------------- plots
def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, float_format="%.6g")
    return path


def _bar_png(labels: list[str], values: np.ndarray, title: str, path: Path) -> Path:
    fig = new_figure(7.5, max(2.5, 0.3 * len(labels) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    ax.barh(y, 100.0 * values, color="#3b6ea8")
    ax.set_yticks(y, labels)
    ax.set_xlabel("percentage points of the calibrated probability")
    ax.set_title(title)
    return save_png(fig, path)


def _colour_values(column: pd.Series) -> np.ndarray:
    """Feature values scaled to 0..1 by rank (category codes for categories); NaN where missing."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        numbers = column.cat.codes.astype(float).where(column.notna())
    else:
        numbers = column.astype(float)
    ranks = numbers.rank(pct=True)
    return ranks.to_numpy(dtype=float, na_value=np.nan)


def _beeswarm_png(contrib: pd.DataFrame, X: pd.DataFrame, features: list[str], path: Path) -> Path:
    from matplotlib import colormaps

    rng = np.random.default_rng(PLOT_SEED)
    rows = np.arange(len(contrib))
    if len(rows) > BEESWARM_POINTS:
        rows = np.sort(rng.choice(rows, BEESWARM_POINTS, replace=False))
    cmap = colormaps["coolwarm"]
    fig = new_figure(8.0, max(3.0, 0.4 * len(features) + 1.5))
    ax = fig.add_subplot()
    for position, name in enumerate(features):
        y_base = len(features) - 1 - position
        x = 100.0 * contrib[name].to_numpy()[rows]
        colour = _colour_values(X[name].iloc[rows])
        jitter = rng.uniform(-0.3, 0.3, len(rows))
        missing = np.isnan(colour)
        ax.scatter(x[missing], y_base + jitter[missing], s=4, c="#9a9a9a", alpha=0.6, linewidths=0)
        ax.scatter(x[~missing], y_base + jitter[~missing], s=4, c=cmap(colour[~missing]), alpha=0.7, linewidths=0)
    ax.axvline(0.0, color="#444444", linewidth=0.8)
    ax.set_yticks(np.arange(len(features))[::-1], features)
    ax.set_xlabel("contribution (percentage points); colour: low (blue) to high (red) value, grey missing")
    ax.set_title(f"Contributions per case ({len(rows):,} cases)")
    return save_png(fig, path)


def _dependence_png(contrib: pd.Series, values: pd.Series, name: str, path: Path) -> Path:
    rng = np.random.default_rng(PLOT_SEED)
    y = 100.0 * contrib.to_numpy()
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot()
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        labels = [str(c) for c in values.cat.categories]
        x = np.where(codes < 0, len(labels), codes).astype(float)
        labels = labels + [MISSING_GROUP]
        ax.scatter(x + rng.uniform(-0.25, 0.25, len(x)), y, s=5, alpha=0.4, linewidths=0)
        ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
    else:
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(numbers)
        ax.scatter(numbers[present], y[present], s=5, alpha=0.4, linewidths=0, label="recorded")
        if (~present).any():
            # Missing values sit left of the range, labelled, never as a fake 0.
            span = np.nanmax(numbers) - np.nanmin(numbers) if present.any() else 1.0
            left = (np.nanmin(numbers) if present.any() else 0.0) - 0.15 * (span or 1.0)
            ax.scatter(np.full((~present).sum(), left), y[~present], s=5, c="#9a9a9a", alpha=0.4,
                       linewidths=0, label=MISSING_GROUP)
            ax.legend(loc="best", fontsize="small")
    ax.axhline(0.0, color="#444444", linewidth=0.8)
    ax.set_xlabel(name)
    ax.set_ylabel("contribution (percentage points)")
    ax.set_title(f"Dependence: {name}")
    return save_png(fig, path)


def _by_group_png(table: pd.DataFrame, attributes: list[str], path: Path) -> Path:
    families = list(dict.fromkeys(table["family"]))
    fig = new_figure(9.0, 2.6 * len(attributes) + 0.5)
    axes = fig.subplots(len(attributes), 1, squeeze=False)[:, 0]
    width = 0.8 / max(1, len(families))
    for ax, attribute in zip(axes, attributes, strict=True):
        part = table[table["attribute"] == attribute]
        groups = list(dict.fromkeys(part["group"]))
        x = np.arange(len(groups))
        for k, family in enumerate(families):
            rows = part[part["family"] == family].set_index("group").reindex(groups)
            ax.bar(x + (k - (len(families) - 1) / 2) * width, 100.0 * rows["mean_contribution"].to_numpy(),
                   width, label=family)
        counts = part.drop_duplicates("group").set_index("group")["n"].reindex(groups)
        ax.set_xticks(x, [f"{g}\n(n={n:,})" for g, n in counts.items()], fontsize="small")
        ax.axhline(0.0, color="#444444", linewidth=0.8)
        ax.set_title(attribute)
        ax.set_ylabel("mean contribution (pp)")
    axes[0].legend(ncols=min(6, len(families)), fontsize="small", loc="upper left")
    fig.suptitle("Mean contribution by feature family within each group")
    return save_png(fig, path)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
