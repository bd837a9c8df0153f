"""The one printer of a command's refusal: what every stage's CLI shows when it stops."""

from __future__ import annotations

import pytest

from extract.command_refusal import print_refusal


def test_refusal_is_an_error_line_then_the_docs_pointer(capsys: pytest.CaptureFixture[str]) -> None:
    print_refusal("the extract is empty", "See docs/guide.md, section 'When it fails'.")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["error: the extract is empty", "See docs/guide.md, section 'When it fails'."]


def test_refusal_shows_square_brackets_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    # Read as rich markup, "[bold]" and "[/red]" would vanish (or raise a MarkupError).
    print_refusal("unknown attribute(s) [bold] and [/red]", "[see] docs")
    assert capsys.readouterr().err.splitlines() == ["error: unknown attribute(s) [bold] and [/red]", "[see] docs"]


def test_a_long_refusal_stays_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # Wrapped at the terminal's width, a path or a message would be split where tests and greps miss it.
    message = "x" * 300
    print_refusal(message, "docs")
    assert capsys.readouterr().err.splitlines()[0] == f"error: {message}"
