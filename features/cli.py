"""`svrisk features`: point-in-time features (and labels) for snapshot and referral cohorts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from cluster.client import Engine, check_engine
from extract.command_refusal import print_refusal

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
    out: Path = typer.Option(..., "--out", help="Output Parquet file (with --engine dask, a folder of part files)."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local, or dask: each partition of a partitioned extract on a cluster."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="With --engine dask: a running scheduler's address (default: a LocalCluster)."),
) -> None:
    """Build features for cohort rows and write keys, features, audit columns and labels.

    Every feature uses only records dated strictly before the row's as-of date.
    The label is empty where the outcome window is not fully observed.

    Example: svrisk features demo/extract --as-of 2023-04-01 --as-of 2024-04-01 --referrals --out features.parquet

    Example: svrisk features national/extract --as-of 2024-04-01 --out features.parquet --engine dask (a partitioned extract; docs/scale.md)
    """
    if not as_of and not referrals:
        raise typer.BadParameter(NO_COHORT)
    if out.suffix != ".parquet":
        raise typer.BadParameter(NOT_PARQUET, param_hint="--out")
    try:
        check_engine(engine, scheduler)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--scheduler") from None
    if engine is Engine.dask:
        _features_on_cluster(path, as_of, referrals, include_protected, out, scheduler)
        return
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import Progress

    from extract.loader import load_extract
    from features.feature_file import feature_frame
    from features.labels import LABEL_COLUMN
    from features.pipeline import FAMILY_STEPS, FeatureConfig

    try:
        config = FeatureConfig(include_protected=tuple(include_protected or ()))
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("loading the extract", total=len(FAMILY_STEPS) + 3)
            extract = load_extract(path)

            def step(description: str) -> None:
                progress.update(task, advance=1, description=description)

            frame, feature_names = feature_frame(extract, as_of, referrals, config, progress=step)
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(out, index=False)
    except (ValueError, ValidationError) as err:
        print_refusal(str(err), SEE_DOCS)
        raise typer.Exit(code=1) from None
    labels = frame[LABEL_COLUMN]
    labelled = int(labels.notna().sum())
    rate = f"{labels.mean():.4f}" if labelled else "n/a"
    Console().print(WROTE.format(rows=len(frame), features=len(feature_names), out=out,
                                 labelled=labelled, rate=rate), highlight=False)


def _features_on_cluster(path: Path, as_of, referrals: bool, include_protected, out: Path, scheduler: str | None) -> None:
    """`--engine dask`: features/dask_features.py on a cluster, errors and summary as the local path's."""
    from pydantic import ValidationError
    from rich.console import Console

    from cluster.client import dask_client
    from features.dask_features import features_on_cluster
    from features.pipeline import FeatureConfig

    try:
        config = FeatureConfig(include_protected=tuple(include_protected or ()))
        with dask_client(scheduler) as client:
            done = features_on_cluster(client, path, as_of or [], referrals, config, out)
    except (ValueError, ValidationError) as err:
        print_refusal(str(err), SEE_DOCS)
        raise typer.Exit(code=1) from None
    rate = f"{done['positives'] / done['labelled']:.4f}" if done["labelled"] else "n/a"
    Console().print(WROTE.format(rows=done["rows"], features=len(done["feature_names"]), out=out,
                                 labelled=done["labelled"], rate=rate), highlight=False)
