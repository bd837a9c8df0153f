"""What a score cannot see, read from the served version's model card (``model_card.md``).

The card (docs/model-card-template.md, filled by training) says what the
outcome misses and lists its caveats; the result page shows those passages,
so the page and the card cannot disagree.
"""

from __future__ import annotations

import re
from typing import Any

MISSES_START = "What it misses:"
CAVEATS_HEADING = "## Caveats"
ERR_NO_LIMITS = "the model card has no 'What it misses' paragraph or 'Caveats' section"


def card_limits(card_text: str) -> list[str]:
    """The 'What it misses' paragraph and each caveat, as plain sentences."""
    limits: list[str] = []
    for paragraph in re.split(r"\n\s*\n", card_text):
        if paragraph.strip().startswith(MISSES_START):
            limits.append(_plain(paragraph.strip()[len(MISSES_START):]))
    if CAVEATS_HEADING in card_text:
        section = card_text.split(CAVEATS_HEADING, 1)[1].split("\n## ", 1)[0]
        limits += [_plain(item) for item in re.split(r"\n- ", "\n" + section.strip()) if item.strip()]
    if not limits:
        raise ValueError(ERR_NO_LIMITS)
    return limits


def served_card_limits(card: dict[str, Any]) -> list[str]:
    """The limits from the model card of the served version's training run (MLflow)."""
    import mlflow.artifacts

    from registry.names import MODEL_CARD_ARTIFACT
    from registry.tracking import tracking_store

    with tracking_store():
        text = mlflow.artifacts.load_text(f"runs:/{card['run_id']}/{MODEL_CARD_ARTIFACT}")
    return card_limits(text)


def _plain(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]
