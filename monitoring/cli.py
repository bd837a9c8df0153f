"""`svrisk monitor`: watch the published model on a newer extract (stage CLI).

Exit codes, for a scheduler: 0 no alert, 1 at least one alert, 2 a usage or
input error (including "no period has matured yet", after drift is reported).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extract.command_refusal import print_refusal

app = typer.Typer()

SEE_DOCS = "See docs/monitoring.md, section 'When the monitor stops'."
POLICY_VALID = "monitoring policy {path} is valid (version {version})"


@app.command()
def monitor(
    extract: Annotated[Path, typer.Argument(help="Folder of the newer extract to monitor the champion on.")],
    start: Annotated[str | None, typer.Option("--from", help="First as-of date (ISO); default: when the training outcomes end.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last as-of date (ISO); default: the extract date.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for report.html and report.json.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Monitoring policy YAML (default: monitoring/policy.yaml).")] = None,
    audit_db: Annotated[str | None, typer.Option("--audit-db", help="SQLAlchemy URL of the service's audit trail, for reviews and volumes.")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Monitor this model version instead of the champion.")] = None,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check the policy file and exit (0 valid, 2 invalid).")] = False,
) -> None:
    """Monitor the champion on monthly snapshots of EXTRACT: drift, performance, fairness, reviews.

    Writes report.html (for the Police and Crime Board and the ethics panel) and
    report.json, logs an MLflow run linked to the model version and tags the
    version `monitor.last_status`. Exit 0: no alert; 1: an alert; 2: a usage error.

    Example: svrisk monitor data/2025 --from 2024-04-01 --out reports/monitor-2025
    """
    from monitoring.policy import DEFAULT_POLICY_PATH, load_policy
    from monitoring.run import monitor as run_monitor

    if validate_only:
        try:
            loaded = load_policy(policy)
        except ValueError as error:
            print_refusal(str(error), SEE_DOCS)
            raise typer.Exit(2) from None
        typer.echo(POLICY_VALID.format(path=policy or DEFAULT_POLICY_PATH, version=loaded.version))
        return
    try:
        result = run_monitor(extract, start=start, end=end, out_dir=out, policy_path=policy, audit_db=audit_db,
                             version=version, progress=lambda message: typer.echo(message, err=True))
    except ValueError as error:
        print_refusal(str(error), SEE_DOCS)
        raise typer.Exit(2) from None
    for notice in result.notices:
        typer.echo(f"notice: {notice}", err=True)
    alerts = [f for f in result.document["findings"] if f["status"] == "alert"]
    typer.echo(f"status: {result.status} ({len(alerts)} alert(s), "
               f"{len(result.document['findings']) - len(alerts)} warning(s)); report {result.html_path}")
    for finding in alerts:
        typer.echo(f"  alert [{finding['action']}] {finding['message']}")
    if result.no_matured:
        print_refusal(result.no_matured, SEE_DOCS)
    raise typer.Exit(result.exit_code)
