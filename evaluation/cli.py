"""`svrisk impact`: the effect of engagement on recorded serious violence (stage CLI)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from extract.command_refusal import print_refusal

app = typer.Typer()

EXPERIMENT = "svrisk-impact"
BAD_EXTRACT = "cannot read the extract {path}: {error}"
NO_DATE = "not a date: {value!r}"
SEE_DOCS = "See docs/impact-evaluation.md, section 'When it refuses'."


class Treatment(str, Enum):
    engaged = "engaged"
    referred = "referred"


@app.command()
def impact(
    extract_dir: Annotated[Path, typer.Argument(help="Extract folder (data contract 1.1, with referrals).")],
    programme: Annotated[str | None, typer.Option("--programme", help="Only referrals to this programme.")] = None,
    treatment: Annotated[Treatment, typer.Option(
            "--treatment",
            help="engaged: the engaged against referrals that did not engage; referred: referrals against "
            "young people never referred, on dates drawn from the referral dates.",
        )] = Treatment.engaged,
    date_from: Annotated[str | None, typer.Option("--from", help="First referral date (ISO).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last referral date (ISO).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for impact.json, impact.html, balance.csv.")] = Path(
        "impact"
    ),
    config: Annotated[Path | None, typer.Option("--config", help="Impact config YAML (strict).")] = None,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check the config and stop.")] = False,
) -> None:
    """Estimate the effect of engagement (or of referral) on recorded serious violence in the next 12 months.

    Example: svrisk impact data/demo --programme cirv --out reports/impact
    """
    from evaluation.config import load_config

    try:
        settings = load_config(config)
    except ValueError as err:
        print_refusal(str(err), SEE_DOCS)
        raise typer.Exit(2) from None
    if validate_only:
        typer.echo(f"config ok (version {settings.version})")
        return
    import pandas as pd

    for value in (date_from, date_to):
        if value is not None:
            try:
                pd.Timestamp(value)
            except ValueError:
                print_refusal(NO_DATE.format(value=value), SEE_DOCS)
                raise typer.Exit(2) from None
    from evaluation.impact import ImpactInputError, run_impact
    from extract.loader import load_extract

    try:
        extract = load_extract(extract_dir)
    except (ValueError, OSError) as err:
        print_refusal(BAD_EXTRACT.format(path=extract_dir, error=err), SEE_DOCS)
        raise typer.Exit(2) from None
    try:
        result = run_impact(extract, settings, programme, date_from, date_to, treatment.value)
    except ImpactInputError as err:
        print_refusal(str(err), SEE_DOCS)
        raise typer.Exit(2) from None
    written = log_and_write(result, settings, out, str(extract_dir))
    aipw = result.estimates["aipw"]
    typer.echo(
        f"AIPW effect on the {result.population['treated_are']}: {aipw['estimate']:+.4f} (95% {aipw['low']:+.4f} to {aipw['high']:+.4f}); "
        f"{'fragile' if result.sensitivity['fragile'] else 'robust'} to unmeasured confounding. "
        "wrote " + ", ".join(str(p) for p in written)
    )


def log_and_write(result, settings, out: Path, source: str) -> list[Path]:
    """Write the report and log it, its config and its figures as one MLflow run."""
    import mlflow

    from evaluation.report import write_report
    from registry.tracking import ensure_experiment, tracking_store

    written = write_report(result, settings, out, source)
    # The experiment by id, not mlflow.set_experiment: its process-wide state would outlive the run.
    with tracking_store() as uri, mlflow.start_run(
        experiment_id=ensure_experiment(EXPERIMENT, uri), run_name=f"impact-{result.population['treatment']}-{result.population['programme']}"
    ):
        mlflow.log_params(
            {
                "extract_path": source,
                "programme": result.population["programme"],
                "treatment": result.population["treatment"],
                "config_version": settings.version,
                "bootstrap_resamples": settings.bootstrap.resamples,
                "minimum_engaged": settings.minimum_engaged,
                "trim_lower": settings.trimming.lower,
                "trim_upper": settings.trimming.upper,
            }
        )
        metrics = {f"{name}_{key}": value for name, est in result.estimates.items() for key, value in est.items()}
        metrics.update(
            treated=result.population["treated_after_trimming"],
            e_value_interval=result.sensitivity["e_value_interval"],
            fragile=float(result.sensitivity["fragile"]),
        )
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        for path in written:
            mlflow.log_artifact(str(path), artifact_path="impact")
    return written
