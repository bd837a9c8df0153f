"""How every stage's command reports a refusal: a red ``error:`` line, then where to read more.

It sits in the lowest layer so that each stage's CLI (extract's generator up to
monitoring, insights and evaluation) prints its refusals the same way without
importing another stage's CLI. It imports rich, which the service does not ship,
so bentofile.yaml excludes this module as it excludes every ``cli.py``.
"""

from __future__ import annotations


def print_refusal(message: str, see_docs: str) -> None:
    """Print ``error: <message>`` (the prefix red) and ``see_docs`` on the next line, to stderr.

    Neither text is read as rich markup: a message may quote a value in square
    brackets (a list, an option), which markup would swallow.
    """
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    console.print(see_docs, markup=False, highlight=False)
