"""How every stage's command reports a refusal: one red ``error:`` line, then where to read more.

It sits in the lowest layer so that each stage's CLI (fairness, monitoring,
evaluation, ...) prints its errors the same way without importing another stage.
"""

from __future__ import annotations


def print_error(message: str, see_docs: str) -> None:
    """Print ``message`` after a red ``error:`` and ``see_docs`` on the next line, to stderr."""
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    console.print(see_docs, markup=False, highlight=False)
