"""`svrisk audit-trail verify | upgrade | copy`: the audit trail's tamper evidence, schema and move
to PostgreSQL (issues 18 and 19). Heavy libraries are imported in the command bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Verify the audit trail's hash chains, upgrade its schema, copy it to PostgreSQL.",
    no_args_is_help=True,
)

ERR_LOG_UNREADABLE = "cannot read the log {path}: {problem}"
ERR_NO_HEADS = "the log {path} holds no audit chain head (lines 'audit chain head: table=... rows=... sha256=...')"
ERR_SOURCE_NOT_CURRENT = (
    "the source trail is at schema revision {found}, not {head}: run `svrisk audit-trail upgrade SOURCE` first"
)
ERR_TARGET_NOT_EMPTY = "the target trail is not empty ({counts}): copy only into a new database"
ERR_SOURCE_BROKEN = "the source trail does not verify, so it is not copied: {problem}"
ERR_COUNTS_DIFFER = "row counts differ after the copy: source {source}, target {target}"
SEE_DOCS = "See docs/serving.md (Tamper evidence) and docs/scale.md (PostgreSQL)."
URL_HELP = "SQLAlchemy URL of the trail (default: SVRISK_AUDIT_DB, else <home>/svrisk_audit.db)."


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    typer.echo(SEE_DOCS, err=True)
    return typer.Exit(code)


def _default_url(url: str | None) -> str:
    from serving.settings import ServingSettings

    if url is not None:
        return url
    try:
        return ServingSettings.from_env().audit_db
    except ValueError as exc:
        raise _fail(str(exc), 2) from None


@app.command()
def verify(
    url: Annotated[str | None, typer.Argument(help=URL_HELP)] = None,
    against: Annotated[
        list[Path] | None,
        typer.Option("--against", help="A service log holding chain heads; every head must still be reached."),
    ] = None,
) -> None:
    """Check every row of the trail against its hash and the row before it (exit 1 naming the
    first broken row of each table), and, with --against, that the database still reaches every
    chain head the service logged (a trail rewritten from some row on fails here).

    Example: svrisk audit-trail verify sqlite:///svrisk_audit.db --against service.log
    """
    from serving.audit_chain import parse_heads
    from serving.audit_trail import AuditStoreUnavailable, AuditTrail

    heads = []
    for path in against or []:
        try:
            found = parse_heads(path.read_text(errors="replace"))
        except OSError as exc:
            raise _fail(ERR_LOG_UNREADABLE.format(path=path, problem=exc.strerror), 2) from None
        if not found:
            raise _fail(ERR_NO_HEADS.format(path=path), 2)
        heads.extend(found)
    trail = AuditTrail(_default_url(url))
    try:
        problems = trail.verify(heads)
        now = trail.heads()
    except AuditStoreUnavailable as exc:
        raise _fail(str(exc), 2) from None
    finally:
        trail.dispose()
    if problems:
        for problem in problems:
            typer.secho(f"BROKEN {problem}", fg=typer.colors.RED)
        raise typer.Exit(1)
    for head in now:
        typer.echo(f"ok {head.table}: {head.rows} rows, head {head.sha256}")
    if heads:
        typer.echo(f"ok every one of {len(heads)} logged heads is reached")


@app.command()
def upgrade(url: Annotated[str | None, typer.Argument(help=URL_HELP)] = None) -> None:
    """Bring the trail's schema to the newest revision (the service does this at start-up too).

    Example: svrisk audit-trail upgrade sqlite:///svrisk_audit.db
    """
    from serving.audit_trail import AuditStoreUnavailable, AuditTrail

    trail = AuditTrail(_default_url(url))
    try:
        before = trail.schema_revision()
        trail.create_schema()
        after = trail.schema_revision()
    except AuditStoreUnavailable as exc:
        raise _fail(str(exc), 2) from None
    finally:
        trail.dispose()
    typer.echo(f"schema revision {before or 'none'} -> {after}")


@app.command()
def copy(
    source: Annotated[str, typer.Argument(help="SQLAlchemy URL of the trail to copy (e.g. sqlite:///svrisk_audit.db).")],
    target: Annotated[str, typer.Argument(help="SQLAlchemy URL of a new, empty database (e.g. postgresql+psycopg://...).")],
) -> None:
    """Copy a trail (typically SQLite) into a new database (typically PostgreSQL), row for row with
    its hashes, then check the row counts match and the copy's chains verify.

    Example: svrisk audit-trail copy sqlite:///svrisk_audit.db postgresql+psycopg://svrisk@db/audit
    """
    from serving.audit_trail import AuditStoreUnavailable, AuditTrail

    origin, copy_to = AuditTrail(source), AuditTrail(target)
    try:
        found, head = origin.schema_revision(), origin.head_revision()
        if found != head:
            raise _fail(ERR_SOURCE_NOT_CURRENT.format(found=found or "none", head=head), 2)
        broken = origin.verify()
        if broken:
            raise _fail(ERR_SOURCE_BROKEN.format(problem="; ".join(broken)))
        copy_to.create_schema()
        existing = copy_to.count_rows()
        if any(existing.values()):
            raise _fail(ERR_TARGET_NOT_EMPTY.format(counts=existing))
        copy_to.copy_from(origin)
        counts, copied = origin.count_rows(), copy_to.count_rows()
        if counts != copied:
            raise _fail(ERR_COUNTS_DIFFER.format(source=counts, target=copied))
        problems = copy_to.verify(origin.heads())
    except AuditStoreUnavailable as exc:
        raise _fail(str(exc), 2) from None
    finally:
        origin.dispose()
        copy_to.dispose()
    if problems:
        raise _fail("; ".join(problems))
    for table, rows in copied.items():
        typer.echo(f"copied {table}: {rows} rows (counts match; chain verified)")
