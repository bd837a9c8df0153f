"""`svrisk train` (stage CLI; commands import heavy libraries inside their bodies)."""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from cluster.client import Engine, check_engine
from extract.command_refusal import print_refusal

app = typer.Typer()

ERR_BOTH_SOURCES = "give either an extract folder DIR or --table FILE, not both"
ERR_NO_SOURCE = "give an extract folder DIR or --table FILE"
ERR_TABLE_NEEDS = "--table needs --id and --label"
ERR_TABLE_ONLY_OPTIONS = "--id, --label, --protected and --time are only for --table"
SEE_DOCS = "See docs/data-scientist-guide.md, sections 'When a command fails' and 'The training configuration'."


@app.command()
def train(
    extract: Annotated[Path | None, typer.Argument(help="Extract folder (the data contract).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Training YAML (default: training/default.yaml).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the configuration's seed.")] = None,
    table: Annotated[Path | None, typer.Option("--table", help="Bring-your-own feature table (CSV or Parquet).")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Table: id column (split by whole ids).")] = None,
    label_column: Annotated[str | None, typer.Option("--label", help="Table: 0/1 label column.")] = None,
    protected: Annotated[list[str] | None, typer.Option("--protected", help="Table: protected column, audited, never an input (repeat).")] = None,
    time_column: Annotated[str | None, typer.Option("--time", help="Table: time column for a temporal split.")] = None,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check the configuration and exit (0 valid, 1 invalid); trains nothing.")] = False,
    engine: Annotated[Engine, typer.Option("--engine", help="local, or dask: the LightGBM search with lightgbm.dask on a cluster.")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: a running scheduler's address (default: a LocalCluster).")] = None,
) -> None:
    """Train, calibrate and evaluate the model against baselines, log it to MLflow and register it
    as a new version of `svrisk` with the alias `candidate`.

    Example: svrisk train demo/extract --config training.yaml

    Example: svrisk train --table partner.csv --id pid --label outcome --protected sex --protected ethnicity --time year

    Example: svrisk train --config training.yaml --validate-only
    """
    from rich.console import Console

    if validate_only:
        _validate_config_only(config, seed)
        return

    if extract is not None and table is not None:
        raise typer.BadParameter(ERR_BOTH_SOURCES)
    if extract is None and table is None:
        raise typer.BadParameter(ERR_NO_SOURCE)
    if table is not None and (id_column is None or label_column is None):
        raise typer.BadParameter(ERR_TABLE_NEEDS)
    if table is None and (id_column or label_column or protected or time_column):
        raise typer.BadParameter(ERR_TABLE_ONLY_OPTIONS)

    try:
        check_engine(engine, scheduler)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scheduler") from None

    from training.pipeline import run_training

    console = Console(stderr=True)
    try:
        with ExitStack() as stack:
            search_with = None
            if engine is Engine.dask:
                from cluster.client import dask_client
                from training.dask_training import search_lightgbm_on_cluster

                search_with = partial(search_lightgbm_on_cluster, stack.enter_context(dask_client(scheduler)))
            outcome = run_training(
                extract=extract, table=table, config_path=config, seed=seed, id_column=id_column,
                label_column=label_column, protected=list(protected or []), time_column=time_column,
                console=console, search_with=search_with,
            )
    except ValueError as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(1) from None
    Console().print(outcome.summary_table())
    console.print(
        f"run {outcome.logged.run_id}: registered {outcome.config.registered_model_name} "
        f"version {outcome.logged.version} as 'candidate' (tracking: {outcome.tracking_uri})"
    )


def _validate_config_only(config: Path | None, seed: int | None) -> None:
    """Load and validate the configuration exactly as a training run would, then stop."""
    from rich.console import Console

    from training.config import DEFAULT_CONFIG_PATH, load_config

    overrides = {} if seed is None else {"seed": seed}
    try:
        loaded = load_config(config, **overrides)
    except ValueError as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(1) from None
    Console().print(
        f"configuration {config or DEFAULT_CONFIG_PATH} is valid (version {loaded.version}, seed {loaded.seed})",
        highlight=False,
    )
