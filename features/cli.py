"""`svrisk features`: point-in-time features (and labels) for snapshot and referral cohorts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

app = typer.Typer()

NO_COHORT = "give at least one --as-of date or --referrals"
NOT_PARQUET = "--out must be a .parquet file"
SEE_DOCS = "See docs/data-scientist-guide.md, section 'When an extract is refused', for each problem and its fix."
WROTE = "wrote {rows:,} rows x {features} features to {out} ({labelled:,} labelled, positive rate {rate})"


@app.command()
def features(
    path: Path = typer.Argument(
        ..., exists=True, file_okay=False, dir_okay=True, readable=True,
        help="Extract folder (contract tables as CSV or Parquet).",
    ),
    as_of: list[datetime] = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"],
        help="Snapshot date (repeatable): everyone aged 10-24 on that date.",
    ),
    referrals: bool = typer.Option(False, "--referrals", help="Add one row per referral, scored on its date."),
    include_protected: list[str] = typer.Option(
        None, "--include-protected",
        help="Protected characteristic to add as a model input (sex, ethnicity, age_band, sen); repeatable.",
    ),
    out: Path = typer.Option(..., "--out", help="Output Parquet file."),
) -> None:
    """Build features for cohort rows and write keys, features, audit columns and labels.

    Every feature uses only records dated strictly before the row's as-of date.
    The label is empty where the outcome window is not fully observed.

    Example: svrisk features demo/extract --as-of 2023-04-01 --as-of 2024-04-01 --referrals --out features.parquet
    """
    if not as_of and not referrals:
        raise typer.BadParameter(NO_COHORT)
    if out.suffix != ".parquet":
        raise typer.BadParameter(NOT_PARQUET, param_hint="--out")
    import pandas as pd
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import Progress

    from extract.loader import load_extract
    from features.cohort import referral_cohort, snapshot_cohort
    from features.labels import LABEL_COLUMN, build_labels
    from features.pipeline import FAMILY_STEPS, FeatureBuilder, FeatureConfig

    errors = Console(stderr=True, soft_wrap=True)
    try:
        config = FeatureConfig(include_protected=tuple(include_protected or ()))
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("loading the extract", total=len(FAMILY_STEPS) + 3)
            extract = load_extract(path)
            parts = [snapshot_cohort(extract, as_of)] if as_of else []
            if referrals:
                parts.append(referral_cohort(extract))
            cohort = pd.concat(parts, ignore_index=True)
            progress.update(task, advance=1, description=f"features for {len(cohort):,} rows")

            def step(family: str) -> None:
                progress.update(task, advance=1, description=f"{family} features done")

            table = FeatureBuilder(config).transform(extract, cohort, progress=step)
            labels = build_labels(extract, cohort, config.outcome)
            progress.update(task, advance=1, description="writing")
            audit = table.audit.drop(columns=[c for c in table.audit.columns if c in table.X.columns])
            extra = cohort.drop(columns=list(table.keys.columns))
            frame = pd.concat([table.keys, extra, table.X, audit, labels.rename(LABEL_COLUMN)], axis=1)
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(out, index=False)
    except (ValueError, ValidationError) as err:
        errors.print(str(err), markup=False, highlight=False)
        errors.print(SEE_DOCS, markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    labelled = int(labels.notna().sum())
    rate = f"{labels.mean():.4f}" if labelled else "n/a"
    Console().print(WROTE.format(rows=len(frame), features=len(table.feature_names), out=out,
                                 labelled=labelled, rate=rate), highlight=False)
