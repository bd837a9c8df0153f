"""`svrisk validate`: load an extract and report every contract violation."""

import typer

app = typer.Typer()
