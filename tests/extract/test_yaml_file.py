"""The one reader of YAML settings files, and the five settings files that use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from extract.yaml_file import YamlFileErrors, validated_yaml_file

ERRORS = YamlFileErrors(not_found="missing {path} ({problem})", bad_yaml="bad yaml {path}: {problem}",
                        not_mapping="not a mapping {path}", invalid="invalid {path}:\n{problem}",
                        unreadable="unreadable {path}: {problem}")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    section: Section


def _read(path: Path, **overrides: object) -> Settings:
    return validated_yaml_file(path, Settings, ERRORS, overrides=overrides or None)


def test_a_valid_file_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("seed: 3\nsection:\n  size: 2\n")
    assert _read(path) == Settings(seed=3, section=Section(size=2))
    assert _read(path, seed=9).seed == 9


@pytest.mark.parametrize(("content", "message"), [
    (None, "missing {path} (No such file or directory)"),
    (b"seed: [1\n", "bad yaml {path}: "),
    (b"seed: \xc3\x28\n", "bad yaml {path}: "),  # not UTF-8: the parser's error, not a bare UnicodeDecodeError
    (b"- 1\n- 2\n", "not a mapping {path}"),
    # Empty is an empty mapping: the required section is still reported missing.
    (b"", "invalid {path}:\n  - section: Field required"),
    (b"seed: x\nsection:\n  size: 0\n  extra: 1\n",
     "invalid {path}:\n  - seed: Input should be a valid integer, unable to parse string as an integer\n"
     "  - section.size: Input should be greater than or equal to 1\n  - section.extra: Extra inputs are not permitted"),
])
def test_each_refusal_is_worded_by_the_caller(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "s.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError) as refused:
        _read(path)
    assert str(refused.value).startswith(message.format(path=path))
    assert type(refused.value) is ValueError


def test_a_folder_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"^unreadable {tmp_path}: Is a directory$"):
        _read(tmp_path)


def _loaders():
    from evaluation.config import load_config as impact
    from fairness.policy import load_policy as fairness
    from insights.config import NeedsConfig
    from monitoring.policy import load_policy as monitoring
    from training.config import load_config as training

    return {"training configuration": training, "fairness policy": fairness, "monitoring policy": monitoring,
            "needs configuration": NeedsConfig.from_yaml, "impact config": impact}


@pytest.mark.parametrize("kind", ["training configuration", "fairness policy", "monitoring policy",
                                  "needs configuration", "impact config"])
def test_every_settings_file_refuses_in_its_own_words(tmp_path: Path, kind: str) -> None:
    load = _loaders()[kind]
    for content, says in ((None, ""), ("key: [1\n", "line 2"), ("- 1\n", "mapping"), ("surprise: 1\n", "surprise")):
        path = tmp_path / "settings.yaml"
        path.unlink(missing_ok=True)
        if content is not None:
            path.write_text(content)
        with pytest.raises(ValueError) as refused:
            load(path)
        assert kind in str(refused.value) and str(path) in str(refused.value) and says in str(refused.value)
