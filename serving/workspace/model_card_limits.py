"""What a score cannot see, read from the served version's model card (``model_card.md``).

The card (docs/model-card-template.md, filled by training) says what the
outcome misses and lists its caveats; the result page shows those passages,
so the page and the card cannot disagree.

A bento has no tracking store to read the card from: ``svrisk serve-package``
reads the limits when it copies the champion into the BentoML model store and
keeps them in that model's metadata (:func:`bento_limits_metadata`), where the
bento's pages find them (:func:`packaged_card_limits`).
"""

from __future__ import annotations

import json
import re
from typing import Any

MISSES_START = "What it misses:"
CAVEATS_HEADING = "## Caveats"
BENTO_LIMITS_KEY = "svrisk_card_limits"
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


def bento_limits_metadata(card: dict[str, Any]) -> dict[str, str]:
    """The BentoML model metadata entry that carries the card's limits into a bento."""
    return {BENTO_LIMITS_KEY: json.dumps(served_card_limits(card))}


def packaged_card_limits(tag: str) -> list[str] | None:
    """The limits a bento's model carries, or None when it was packaged without them."""
    import bentoml

    raw = bentoml.models.get(tag).info.metadata.get(BENTO_LIMITS_KEY)
    return None if raw is None else [str(item) for item in json.loads(raw)]


def _plain(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]
