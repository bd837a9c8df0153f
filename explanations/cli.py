"""`svrisk score` (stage CLI; commands import heavy libraries inside their bodies)."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from cluster.client import Engine, check_engine
from extract.command_refusal import print_refusal
from registry.names import Alias
from registry.versions import ERR_ALIAS_OR_VERSION

app = typer.Typer()

ERR_ASOF_OR_REFERRALS = "give --as-of DATE (a population snapshot) or --referrals, not both"
ERR_BAD_DATE = "{value!r} is not a date YYYY-MM-DD"
SEE_DOCS = "See docs/explanations.md, section 'Batch scoring: `svrisk score`'."
LEFT_OUT = "left out {count:,} cohort row(s), not scored: {reasons}"


@app.command()
def score(
    extract: Annotated[Path, typer.Argument(help="Extract folder (the data contract).")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .parquet or .csv.")],
    as_of: Annotated[
        list[str] | None,
        typer.Option("--as-of", help="Snapshot date YYYY-MM-DD: everyone aged 10-24 that day (repeat for more)."),
    ] = None,
    referrals: Annotated[
        bool, typer.Option("--referrals", help="Score every referral on its referral date instead.")
    ] = False,
    alias: Annotated[
        Alias | None,
        typer.Option("--alias", help="Registry alias to use (default: champion, else candidate with a warning)."),
    ] = None,
    version: Annotated[int | None, typer.Option("--version", help="Use this registered version.", min=1)] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Factor groups listed each way.", min=1)] = 5,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Cohort rows scored at a time.", min=1)] = 20_000,
    engine: Annotated[Engine, typer.Option("--engine", help="local, or dask: each partition of a partitioned extract on a cluster (--out becomes a folder of Parquet parts).")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: a running scheduler's address (default: a LocalCluster).")] = None,
) -> None:
    """Score and explain every cohort row of an extract with the registered model (the same
    pyfunc as the service), writing person_id, as_of, probability, the absolute risk in words
    ("about 3 in 1,000 ..."), model_version and the grouped explanation (JSON text).

    Example: svrisk score demo/extract --as-of 2024-04-01 --out scores.parquet

    Example: svrisk score demo/extract --referrals --alias candidate --out referrals.csv

    Example: svrisk score national/extract --as-of 2024-04-01 --out scores.parquet --engine dask --scheduler tcp://scheduler:8786
    """
    from rich.console import Console

    if bool(as_of) == referrals:
        raise typer.BadParameter(ERR_ASOF_OR_REFERRALS)
    if alias is not None and version is not None:
        raise typer.BadParameter(ERR_ALIAS_OR_VERSION)
    for value in as_of or []:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(ERR_BAD_DATE.format(value=value), param_hint="--as-of") from None
    from explanations.scoring import check_output_path

    try:
        check_output_path(out)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--out") from None

    try:
        check_engine(engine, scheduler)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scheduler") from None
    if engine is Engine.dask and out.suffix.lower() != ".parquet":
        from explanations.dask_scoring import PARTS_ARE_PARQUET

        raise typer.BadParameter(PARTS_ARE_PARQUET, param_hint="--out")
    console = Console(stderr=True)
    run = _run if engine is Engine.local else partial(_run_on_cluster, scheduler=scheduler)
    try:
        written, n, resolved = run(extract, out, as_of, referrals, alias, version, top_k, chunk_size, console)
    except ValueError as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(1) from None
    console.print(
        f"scored {n:,} rows with {resolved.name} version {resolved.version}"
        f"{f' ({resolved.alias})' if resolved.alias else ''}: {written}",
        highlight=False,
    )


def _run(
    extract_dir: Path,
    out: Path,
    as_of: list[str] | None,
    referrals: bool,
    alias: Alias | None,
    version: int | None,
    top_k: int,
    chunk_size: int,
    console: Any,
) -> tuple[Path, int, Any]:
    """Load, resolve, score and write; every data or registry problem surfaces as a ValueError."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from explanations.scoring import score_extract, scoring_cohort, write_scores
    from extract.loader import load_extract

    with console.status("loading the extract"):
        extract = load_extract(extract_dir)
        cohort, left_out = scoring_cohort(extract, as_of, referrals)
    _print_cohort_notes(console, extract.notices, left_out)
    resolved, risk_model = _load_model(alias, version, console)
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("scoring and explaining", total=len(cohort))
        scores = score_extract(
            risk_model,
            extract,
            cohort,
            model_version=resolved.version,
            chunk_size=chunk_size,
            top_k=top_k,
            on_chunk=lambda rows: progress.advance(task, rows),
        )
    written = write_scores(scores, out)
    return written, len(scores), resolved


def _run_on_cluster(
    extract_dir: Path,
    out: Path,
    as_of: list[str] | None,
    referrals: bool,
    alias: Alias | None,
    version: int | None,
    top_k: int,
    chunk_size: int,
    console: Any,
    *,
    scheduler: str | None,
) -> tuple[Path, int, Any]:
    """`--engine dask`: the model resolved and verified here, each partition scored on the cluster
    (explanations/dask_scoring.py); the same messages as :func:`_run`."""
    from cluster.client import dask_client
    from explanations.dask_scoring import scores_on_cluster

    resolved, risk_model = _load_model(alias, version, console)
    with dask_client(scheduler) as client, console.status("scoring and explaining on the cluster"):
        done = scores_on_cluster(client, risk_model, extract_dir, out, as_of=as_of, referrals=referrals,
                                 model_version=resolved.version, chunk_size=chunk_size, top_k=top_k)
    _print_cohort_notes(console, done["notices"], done["left_out"])
    return out, done["rows"], resolved


def _load_model(alias: Alias | None, version: int | None, console: Any) -> tuple[Any, Any]:
    """The resolved version (a warning printed when it has not passed the gate) and its verified RiskModel."""
    from mlflow import MlflowClient

    from explanations.scoring import load_risk_model, resolve_model
    from registry.tracking import tracking_store

    with tracking_store(), console.status("loading the model"):
        resolved = resolve_model(MlflowClient(), alias=alias.value if alias else None, version=version)
        if resolved.notice:
            console.print(f"[yellow]warning:[/yellow] {resolved.notice}", markup=True, highlight=False)
        return resolved, load_risk_model(resolved)


def _print_cohort_notes(console: Any, notices: Any, left_out: dict[str, int]) -> None:
    """The loader's notices and the cohort rows left out, by reason."""
    for notice in notices:
        console.print(f"note: {notice}", markup=False, highlight=False)
    console.print(LEFT_OUT.format(count=sum(left_out.values()), reasons="; ".join(
        f"{n:,} {reason}" for reason, n in left_out.items()) or "none"), markup=False, highlight=False)
