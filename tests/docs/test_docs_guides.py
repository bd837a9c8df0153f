"""The guides stay in step with the files they explain."""

from __future__ import annotations

from pathlib import Path

import yaml


def _policy_keys(policy: dict) -> set[str]:
    """Dotted keys of the policy: top-level values, each section's keys, and each gated check's keys."""
    keys: set[str] = set()
    for section, value in policy.items():
        if isinstance(value, dict):
            keys |= {f"{section}.{key}" for key in value}
        else:
            keys.add(section)
    for check in policy["gate"]["checks"]:
        keys |= {f"gate.checks[].{key}" for key in check}
    return keys


def test_docs_ethics_panel_guide_explains_every_policy_key(project_root: Path) -> None:
    policy = yaml.safe_load((project_root / "fairness" / "policy.yaml").read_text())
    guide = (project_root / "docs" / "ethics-panel-guide.md").read_text(encoding="utf-8")
    missing = sorted(key for key in _policy_keys(policy) if f"`{key}`" not in guide)
    assert not missing, f"docs/ethics-panel-guide.md does not explain policy key(s) {missing}"


def test_docs_ethics_panel_guide_names_every_gate_tag(project_root: Path) -> None:
    import registry.names as names

    tags = {value for name, value in vars(names).items()
            if name.startswith("TAG_") and value.startswith(names.GATE_TAG_PREFIX)}
    guide = (project_root / "docs" / "ethics-panel-guide.md").read_text(encoding="utf-8")
    assert tags and not sorted(t for t in tags if f"`{t}`" not in guide)
