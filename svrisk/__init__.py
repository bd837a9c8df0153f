"""svrisk: the command-line entry point that assembles every stage's Typer sub-app."""
