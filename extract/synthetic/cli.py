"""`svrisk generate`: write a synthetic extract with known truth."""

import typer

app = typer.Typer()
