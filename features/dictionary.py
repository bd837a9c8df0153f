"""The feature dictionary (``features/dictionary.yaml``) and the sentences explanations show.

Each entry says what a feature means to a practitioner and how to say a
person's value in words. ``FeatureDictionary.sentence(name, value, direction)``
is called by the explanation stage for every feature it details, including
empty (NaN) and categorical values.

Every feature belongs to a group: the features that measure one concept
(attendance over 3 and 6 terms). Explanations are made per group, one sentence
each (``FeatureDictionary.group_sentence``), and a group says whether a service
could work on it (``modifiable``). The groups are checked on load: every
feature has a known group, every group has members, members share family and
``protected``, and members with an evidence-fixed direction agree on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import functools
import re
import string
from collections.abc import Mapping

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
UNKNOWN_GROUP = "feature {name!r} names group {group!r}, which the dictionary's groups do not define"
DUPLICATE_GROUP = "group {name!r} is defined more than once"
EMPTY_GROUP = "group {name!r} has no member features"
GROUP_DISAGREES = "group {name!r} mixes features of different {what}: {values}"
GROUP_PLACEHOLDER = "group {name!r}: {field} names {member!r}, which is not a member of the group"
PROTECTED_MODIFIABLE = "group {name!r} holds a protected characteristic and cannot be modifiable"
SAME_NEEDS_TEMPLATE = "group {name!r}: `same` needs a single `sentence` template"
# {s:member}: "s" unless the member's value is 1 (a plural ending).
PLURAL = re.compile(r"\{s:(\w+)\}")


class DictionaryEntry(BaseModel):
    """One feature: meaning, unit and sentence templates (see the header of dictionary.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: Literal["ace", "trauma", "school", "police", "health", "context"]
    group: str
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


class ConditionalSentence(BaseModel):
    """One template of a group, used when its ``if`` member is above 0 (always, without ``if``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: str | None = Field(None, alias="if")
    text: str


class FeatureGroup(BaseModel):
    """The features that measure one concept, and how to say it in one sentence (see dictionary.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    modifiable: bool
    sentence: str | list[ConditionalSentence] | None = None
    same: str | None = None
    zero: str | None = None
    missing: str | None = None

    @property
    def templates(self) -> list[ConditionalSentence]:
        if self.sentence is None:
            return []
        if isinstance(self.sentence, str):
            return [ConditionalSentence(text=self.sentence)]
        return list(self.sentence)


class _DictionaryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    groups: list[FeatureGroup]
    features: list[DictionaryEntry]


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas.NA and NaT."""
    if value is None:
        return True
    if type(value) is float:  # the common case, without pandas' per-call checks
        return value != value
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def placeholders(template: str) -> list[str]:
    """The member names a group template refers to ({member} and {s:member})."""
    return list(_placeholders(template))


@functools.lru_cache(maxsize=1024)
def _placeholders(template: str) -> tuple[str, ...]:
    # Cached: explanations ask for every group sentence they write.
    plural = PLURAL.findall(template)
    fields = [f for _, f, _, _ in string.Formatter().parse(PLURAL.sub("", template)) if f]
    return tuple(dict.fromkeys([*fields, *plural]))


class FeatureDictionary:
    """All dictionary entries by name, in file order, and the groups they belong to."""

    def __init__(self, entries: list[DictionaryEntry], groups: list[FeatureGroup], version: int = 2) -> None:
        self.version = version
        self.entries: dict[str, DictionaryEntry] = {}
        for entry in entries:
            if entry.name in self.entries:
                raise ValueError(DUPLICATE_FEATURE.format(name=entry.name))
            self.entries[entry.name] = entry
        self.groups: dict[str, FeatureGroup] = {}
        for group in groups:
            if group.name in self.groups:
                raise ValueError(DUPLICATE_GROUP.format(name=group.name))
            self.groups[group.name] = group
        self.members: dict[str, list[str]] = {name: [] for name in self.groups}
        for entry in self.entries.values():
            if entry.group not in self.groups:
                raise ValueError(UNKNOWN_GROUP.format(name=entry.name, group=entry.group))
            self.members[entry.group].append(entry.name)
        for group in self.groups.values():
            self._check_group(group)
        # Built once: explanations ask for them for every group sentence they write.
        self.templates = {name: group.templates for name, group in self.groups.items()}
        self._sentence_members = {name: self._find_sentence_members(name) for name in self.groups}

    def _check_group(self, group: FeatureGroup) -> None:
        members = self.members[group.name]
        if not members:
            raise ValueError(EMPTY_GROUP.format(name=group.name))
        entries = [self.entries[m] for m in members]
        for what, values in (
            ("family", {e.family for e in entries}),
            ("protected status", {e.protected for e in entries}),
            ("evidence-fixed direction", {e.direction for e in entries if e.direction is not None}),
        ):
            if len(values) > 1:
                raise ValueError(GROUP_DISAGREES.format(name=group.name, what=what, values=sorted(map(str, values))))
        if group.modifiable and entries[0].protected:
            raise ValueError(PROTECTED_MODIFIABLE.format(name=group.name))
        if group.same is not None and not isinstance(group.sentence, str):
            raise ValueError(SAME_NEEDS_TEMPLATE.format(name=group.name))
        for field, names in (
            ("sentence", [n for t in group.templates for n in placeholders(t.text) + ([t.when] if t.when else [])]),
            ("same", placeholders(group.sentence) if group.same is not None and isinstance(group.sentence, str) else []),
        ):
            for name in names:
                if name not in members:
                    raise ValueError(GROUP_PLACEHOLDER.format(name=group.name, field=field, member=name))

    @classmethod
    def load(cls, path: str | Path | None = None) -> FeatureDictionary:
        """Read and validate a dictionary file (the packaged one by default)."""
        raw = yaml.safe_load(Path(path or DICTIONARY_PATH).read_text(encoding="utf-8"))
        parsed = _DictionaryFile.model_validate(raw)
        return cls(parsed.features, parsed.groups, version=parsed.version)

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

    def group_of(self, name: str) -> FeatureGroup:
        """The group of a dictionary feature."""
        return self.groups[self[name].group]

    def group_direction(self, group: str) -> int:
        """The evidence-fixed direction its members share (+1, -1, 0 when none has one)."""
        return next((self.entries[m].direction for m in self.members[group] if self.entries[m].direction), 0)

    def sentence_members(self, group: str) -> list[str]:
        """The members a group's sentence depends on, besides whether every member is zero.

        With an unconditional template that names members: those and the ``if``
        members; otherwise (the sentence may join any member's sentence) all members.
        Callers may cache :meth:`group_sentence` on these values and that flag.
        """
        return list(self._sentence_members[group])

    def _find_sentence_members(self, group: str) -> list[str]:
        templates = self.templates[group]
        fallback = next((t for t in templates if t.when is None), None)
        if fallback is None or not placeholders(fallback.text):
            return list(self.members[group])
        named = [n for t in templates for n in [*placeholders(t.text), *([t.when] if t.when else [])]]
        return list(dict.fromkeys(named))

    def group_sentence(
        self, group: str, values: Mapping[str, Any], direction: str = "raised", recorded: bool | None = None
    ) -> str:
        """The group in one sentence with the person's values (``values``: member name -> value).

        In order: every member the chosen template names is missing -> ``missing``;
        every member zero or missing -> ``zero``; a named member missing -> the
        member sentences of the named members; all named members equal -> ``same``;
        else the template. Without a template: the member sentences of the
        members recorded and not zero, joined by "; ".

        Members absent from ``values`` count as not recorded. ``recorded`` (any
        member recorded and not zero) may be given by a caller that knows it; then
        ``values`` need only hold :meth:`sentence_members`.
        """
        spec = self.groups[group]
        members = self._sentence_members[group] if recorded is not None else self.members[group]
        values = {m: values.get(m) for m in members}
        present = {m: not is_missing(values[m]) for m in members}
        nonzero = {m: present[m] and (self.entries[m].unit == "category" or float(values[m]) != 0) for m in members}
        if recorded is None:
            recorded = any(nonzero.values())
        template = next((t.text for t in self.templates[group] if t.when is None or nonzero[t.when]), None)
        named = placeholders(template) if template is not None else []
        if named and not any(present[m] for m in named):
            return spec.missing or self.sentence(named[0], values[named[0]], direction)
        if spec.zero is not None and not recorded:
            return spec.zero
        if template is None or not all(present[m] for m in named):
            shown = [m for m in (named or members) if nonzero[m]] or (named or members)
            return "; ".join(dict.fromkeys(self.sentence(m, values[m], direction) for m in shown))
        text = {m: self.entries[m].format_value(values[m]) for m in named}
        if spec.same is not None and len(set(text.values())) == 1:
            return spec.same.format(value=next(iter(text.values())))
        filled = PLURAL.sub(lambda match: "" if text[match.group(1)] == "1" else "s", template)
        return filled.format(**text)

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
