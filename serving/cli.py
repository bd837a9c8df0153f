"""`svrisk serve` and `svrisk serve-key` (stage CLI; heavy libraries are imported in the bodies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from serving.model_loader import ServedModel

app = typer.Typer()

ERR_CASE_FILE = "cannot read the case file {path}: {problem}"
SEE_DOCS = "See docs/serving.md."
ERR_EXPIRES_PAST = "expires: {date} is not after today (UTC); the key would be refused at once"


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    typer.echo(SEE_DOCS, err=True)
    return typer.Exit(1)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (or --host).")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    version: Annotated[
        int | None, typer.Option("--version", help="Serve this registered version, not the champion.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    example: Annotated[
        bool,
        typer.Option(
            "--example",
            help="Start the server, score one example case, print it explained, and stop.",
        ),
    ] = False,
    case: Annotated[
        Path | None,
        typer.Option(help="With --example: a JSON case file (default: the model's input example)."),
    ] = None,
) -> None:
    """Serve the fairness-gated champion over HTTP (BentoML).

    The model is checked before the server starts: it must have passed the
    fairness gate, carry a verdict signed by a key in SVRISK_VERIFY_KEY_FILE and
    match its registered checksum. The alias is resolved once, here: the workers
    load the version number and checksum verified here. API keys come from
    SVRISK_API_KEYS_FILE or SVRISK_API_KEYS (see docs/serving.md).

    Example: svrisk serve --port 3000

    Example: svrisk serve --example
    """
    import os
    import subprocess

    from serving.api_keys import KeyRing
    from serving.client import serve_command, workers_env
    from serving.errors import ModelRefused
    from serving.model_loader import load_served_model, worker_env
    from serving.settings import ServingSettings

    env = dict(os.environ)
    if version is not None:
        env["SVRISK_MODEL_VERSION"] = str(version)
    try:
        settings = ServingSettings.from_env(env)
        if not example:
            KeyRing.from_sources(settings.api_keys_file, settings.api_keys_json)
        served = load_served_model(settings)
    except (ValueError, ModelRefused) as exc:
        raise _fail(str(exc)) from None
    # The workers serve exactly what was verified here, never the alias resolved again.
    env.update(worker_env(served))
    if example:
        _run_example(env, served, case)
        return
    typer.echo(f"serving svrisk version {served.version} on http://{host}:{port}")
    typer.echo(f"practitioners' workspace: http://{host}:{port}/app/")
    env.update(workers_env(workers))
    completed = subprocess.run(serve_command(port, host), env=env, check=False)  # noqa: S603
    raise typer.Exit(completed.returncode)


def _example_case(served: ServedModel, case: Path | None) -> dict:
    from serving.model_loader import ERR_NO_EXAMPLE

    if case is not None:
        try:
            return json.loads(case.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise _fail(ERR_CASE_FILE.format(path=case, problem=exc)) from None
    if served.example_case is None:
        raise _fail(ERR_NO_EXAMPLE)
    return served.example_case


def _run_example(env: dict[str, str], served: ServedModel, case: Path | None) -> None:
    import httpx
    from rich.console import Console

    from serving.api_keys import API_KEY_HEADER, hash_key, new_key
    from serving.client import ServerProcess, render_scored_case

    body = _example_case(served, case)
    key = new_key()
    env["SVRISK_API_KEYS"] = json.dumps(
        [{"name": "svrisk-example", "role": "admin", "sha256": hash_key(key)}]
    )
    console = Console()
    with console.status("starting the service"), ServerProcess(env) as server:
        response = httpx.post(
            server.url + "/score", json=body, headers={API_KEY_HEADER: key}, timeout=30
        )
    if response.status_code != 200:
        raise _fail(f"the service answered {response.status_code}: {response.text}")
    render_scored_case(response.json(), console)


@app.command("serve-key")
def serve_key(
    name: Annotated[str, typer.Option(help="Who holds the key (recorded in the audit trail).")],
    role: Annotated[
        str, typer.Option(help="practitioner, data_scientist, ethics_panel, team_lead or admin.")
    ],
    expires: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD: the key is refused from this day on (UTC)."),
    ] = None,
) -> None:
    """Make a new API key and print it with the hashed entry for the keys file.

    Give the key to its holder once; store only the entry. The service reads the
    keys file again when it changes: no restart (docs/serving.md, rotating keys).

    Example: svrisk serve-key --name a.smith --role practitioner --expires 2027-06-30
    """
    import datetime as dt

    from pydantic import ValidationError

    from serving.api_keys import KeyEntry, hash_key, new_key

    key = new_key()
    try:
        entry = KeyEntry(name=name, role=role, sha256=hash_key(key), expires=expires)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        raise _fail(f"{first['loc'][0]}: {first['msg']}") from None
    if entry.expires is not None and entry.expires <= dt.datetime.now(dt.UTC).date():
        raise _fail(ERR_EXPIRES_PAST.format(date=entry.expires.isoformat()))
    typer.echo(f"key (give to {name}, shown once): {key}")
    typer.echo("entry for SVRISK_API_KEYS_FILE (under `keys:`):")
    typer.echo(f"  - name: {entry.name}\n    role: {entry.role}\n    sha256: {entry.sha256}")
    if entry.expires is not None:
        typer.echo(f"    expires: {entry.expires.isoformat()}")


@app.command("serve-package")
def serve_package(
    version: Annotated[
        int | None, typer.Option("--version", help="Package this version, not the champion.")
    ] = None,
) -> None:
    """Build a bento holding the service and the verified champion (bentofile.yaml).

    The model version is checked (gate passed, checksum) and copied into the
    BentoML model store as `svrisk-champion`, then `bentoml build` runs.

    Example: svrisk serve-package && bentoml serve svrisk:latest
    """
    import os
    import subprocess

    from serving.client import bentoml_executable, project_root
    from serving.errors import ModelRefused
    from serving.model_loader import import_to_bentoml
    from serving.settings import ServingSettings

    env = dict(os.environ)
    if version is not None:
        env["SVRISK_MODEL_VERSION"] = str(version)
    try:
        model = import_to_bentoml(ServingSettings.from_env(env))
    except (ValueError, ModelRefused) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"model {model.tag} imported into the BentoML model store")
    # BentoML only reads a bentofile below its working directory.
    completed = subprocess.run(  # noqa: S603
        [bentoml_executable(), "build", "."], cwd=project_root(), check=False
    )
    raise typer.Exit(completed.returncode)
