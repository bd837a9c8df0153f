"""`svrisk audit and svrisk publish` (stage CLI; commands import heavy libraries inside their bodies)."""

import typer

app = typer.Typer()
