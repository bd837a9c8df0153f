"""The one reader of a YAML settings file validated by a pydantic model.

The training configuration, the fairness and monitoring policies, the needs
configuration and the impact configuration are each a YAML mapping checked by
a strict pydantic model. They share these steps (read, parse, insist on a
mapping, validate) and differ only in how their refusals are worded, so each
passes its own messages in a :class:`YamlFileErrors`. It sits in the lowest
layer so that every stage can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Settings = TypeVar("Settings", bound=BaseModel)

ERR_UNREADABLE = "cannot read {path}: {problem}"


@dataclass(frozen=True)
class YamlFileErrors:
    """One kind of file's refusals; each is formatted with ``path`` and ``problem`` (which it may leave out).

    ``problem`` is the operating system's reason (``not_found``, ``unreadable``),
    the parser's (``bad_yaml``), nothing (``not_mapping``), or one line per
    failed check, ``  - location: message`` (``invalid``).
    """

    not_found: str
    bad_yaml: str
    not_mapping: str
    invalid: str
    unreadable: str = ERR_UNREADABLE


def validated_yaml_file(source: Path, model: type[Settings], errors: YamlFileErrors,
                        overrides: Mapping[str, Any] | None = None) -> Settings:
    """The YAML mapping in ``source``, with ``overrides`` replacing top-level keys, validated by ``model``.

    An empty file is an empty mapping: the model's defaults apply and its
    required fields are reported missing.

    Raises
    ------
    ValueError
        Worded by ``errors``, when the file is missing or unreadable, is not
        YAML, is not a mapping, or fails validation (every problem listed).
    """
    import yaml

    try:
        # Bytes: the parser decodes them, and an undecodable file is its error, not a bare UnicodeDecodeError.
        content = source.read_bytes()
    except FileNotFoundError as exc:
        raise ValueError(errors.not_found.format(path=source, problem=exc.strerror)) from None
    except OSError as exc:
        raise ValueError(errors.unreadable.format(path=source, problem=exc.strerror or exc)) from None
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise ValueError(errors.bad_yaml.format(path=source, problem=exc)) from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(errors.not_mapping.format(path=source, problem=""))
    try:
        return model.model_validate({**data, **(overrides or {})})
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(errors.invalid.format(path=source, problem=problems)) from None
