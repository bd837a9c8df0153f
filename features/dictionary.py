"""The feature dictionary (``features/dictionary.yaml``) and the sentences explanations show.

Each entry says what a feature means to a practitioner and how to say a
person's value in words. ``FeatureDictionary.sentence(name, value, direction)``
is called by the explanation stage for every factor it shows, including
empty (NaN) and categorical values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DICTIONARY_PATH = Path(__file__).with_name("dictionary.yaml")
FAMILIES = ("ace", "trauma", "school", "police", "health", "context")
Unit = Literal[
    "flag", "count", "proportion", "percentage_points", "days", "months", "years", "decile", "category"
]
# Accepted spellings of the direction of a factor's effect on the score.
DIRECTIONS = {"raised": "raised", "raising": "raised", "lowered": "lowered", "lowering": "lowered"}

UNKNOWN_FEATURE = "feature {name!r} is not in the feature dictionary"
UNKNOWN_DIRECTION = "direction must be one of {allowed}, not {direction!r}"
DUPLICATE_FEATURE = "feature {name!r} appears more than once in the dictionary"
ZERO_ONLY_FOR_NUMBERS = "a `zero` sentence makes no sense for a categorical feature"


class DictionaryEntry(BaseModel):
    """One feature: meaning, unit and sentence templates (see the header of dictionary.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: Literal["ace", "trauma", "school", "police", "health", "context"]
    description: str = Field(min_length=10)
    unit: Unit
    raised: str
    lowered: str
    zero: str | None = None
    missing: str | None = None
    protected: bool = False
    # Where the evidence fixes the sign of the effect: +1 more never lowers the risk, -1 more
    # never raises it; None leaves it free (ages, days since, gaps in the record).
    direction: Literal[-1, 1] | None = None

    @model_validator(mode="after")
    def _zero_needs_numbers(self) -> DictionaryEntry:
        if self.zero is not None and self.unit == "category":
            raise ValueError(ZERO_ONLY_FOR_NUMBERS)
        return self

    def format_value(self, value: Any) -> str:
        """The value as a person reads it for this unit (proportions as percentages)."""
        if self.unit == "category":
            return str(value).replace("_", " ")
        number = float(value)
        if self.unit == "proportion":
            return f"{number * 100:.0f}%"
        if self.unit == "percentage_points":
            return f"{number * 100:+.0f}"
        if number == int(number):
            return str(int(number))
        return f"{number:.1f}" if self.unit in ("days", "count") else f"{number:.0f}"


class _DictionaryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    features: list[DictionaryEntry]


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas.NA and NaT."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


class FeatureDictionary:
    """All dictionary entries by name, in file order."""

    def __init__(self, entries: list[DictionaryEntry], version: int = 1) -> None:
        self.version = version
        self.entries: dict[str, DictionaryEntry] = {}
        for entry in entries:
            if entry.name in self.entries:
                raise ValueError(DUPLICATE_FEATURE.format(name=entry.name))
            self.entries[entry.name] = entry

    @classmethod
    def load(cls, path: str | Path | None = None) -> FeatureDictionary:
        """Read and validate a dictionary file (the packaged one by default)."""
        raw = yaml.safe_load(Path(path or DICTIONARY_PATH).read_text(encoding="utf-8"))
        parsed = _DictionaryFile.model_validate(raw)
        return cls(parsed.features, version=parsed.version)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> DictionaryEntry:
        if name not in self.entries:
            raise KeyError(UNKNOWN_FEATURE.format(name=name))
        return self.entries[name]

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    def directions(self, names: list[str]) -> list[int]:
        """Each feature's evidence-fixed direction (+1, -1, 0 when free), in the order of ``names``.

        Names the dictionary does not know (e.g. a bring-your-own table's columns) are free.
        """
        return [(self.entries[n].direction or 0) if n in self.entries else 0 for n in names]

    def family(self, name: str) -> str:
        return self[name].family

    def sentence(self, name: str, value: Any, direction: str = "raised") -> str:
        """The person's value in words, e.g. "3 suspensions in the last 12 months".

        Parameters
        ----------
        name : str
            A dictionary feature.
        value : number, str, None or NaN
            The person's value; NaN/None uses the entry's ``missing`` sentence.
        direction : {"raised", "lowered"} (also "raising", "lowering")
            Whether the factor raised or lowered the score.
        """
        if direction not in DIRECTIONS:
            raise ValueError(UNKNOWN_DIRECTION.format(allowed=sorted(DIRECTIONS), direction=direction))
        entry = self[name]
        if is_missing(value):
            return entry.missing or f"not recorded: {entry.description[0].lower()}{entry.description[1:]}"
        if entry.zero is not None and float(value) == 0:
            return entry.zero
        template = entry.raised if DIRECTIONS[direction] == "raised" else entry.lowered
        text = entry.format_value(value)
        return template.format(value=text, s="" if text == "1" else "s")
