"""The bento ships only what the service runs, and only those packages' dependencies.

Static checks on bentofile.yaml, read with the same gitignore-style matching
BentoML uses; the slow build test in test_serving_model_loader.py lists a
real bento's files.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICE_MODULE = "serving.service"
NOT_SHIPPED = ("training", "explanations", "fairness", "svrisk")
# Importable names of the distributions bentofile.yaml lists (where the two differ).
IMPORT_NAME = {"scikit-learn": "sklearn", "pyyaml": "yaml"}
# Installed with bentoml itself: the service imports them, the bentofile need not list them.
WITH_BENTOML = {"fastapi"}


def bentofile() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "bentofile.yaml").read_text())


def shipped_files(root: Path = PROJECT_ROOT) -> set[str]:
    """Project-relative paths of the .py/.yaml files ``bentoml build`` copies (include minus exclude)."""
    import pathspec

    spec = bentofile()
    include = pathspec.GitIgnoreSpec.from_lines(spec["include"])
    exclude = pathspec.GitIgnoreSpec.from_lines(spec["exclude"])
    # Top-level folders only: walking .venv would take seconds and ships nothing.
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "tests"]
    files = set()
    for path in (f for folder in folders for f in folder.rglob("*") if f.is_file()):
        relative = path.relative_to(root).as_posix()
        if include.match_file(relative) and not exclude.match_file(relative):
            files.add(relative)
    return files


def imports_of(path: Path) -> set[str]:
    """Every absolute module name one file imports (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_file(name: str) -> str | None:
    """The project-relative file of a project module, or None for third-party and missing names."""
    for candidate in (f"{name.replace('.', '/')}.py", f"{name.replace('.', '/')}/__init__.py"):
        if (PROJECT_ROOT / candidate).is_file():
            return candidate
    return None


def service_closure() -> set[str]:
    """The project files the service imports, directly or through other project files."""
    todo, seen = [module_file(SERVICE_MODULE)], set()
    while todo:
        current = todo.pop()
        if current is None or current in seen:
            continue
        seen.add(current)
        for name in imports_of(PROJECT_ROOT / current):
            parts = name.split(".")
            # The module and its parent packages (importing a.b.c runs a/__init__ and a/b/__init__).
            todo += [module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)]
    return seen


def test_the_bento_ships_no_training_fairness_explanations_or_cli_code() -> None:
    files = shipped_files()
    assert "serving/service.py" in files and "runtime/risk_model.py" in files
    assert "features/dictionary.yaml" in files
    wrong = sorted(f for f in files if f.split("/")[0] in NOT_SHIPPED or f.endswith("/cli.py"))
    assert not wrong, wrong


def test_everything_the_service_imports_is_shipped() -> None:
    missing = sorted(service_closure() - shipped_files())
    assert not missing, f"the service imports files the bento does not ship: {missing}"


def test_the_bento_lists_exactly_the_shipped_code_dependencies() -> None:
    listed = {
        IMPORT_NAME.get(name, name)
        for name in (p.split(">")[0].split("=")[0].split("<")[0].strip().lower()
                     for p in bentofile()["python"]["packages"])
    }
    own = {path.split("/")[0] for path in shipped_files()}
    needed = set()
    for path in shipped_files():
        if path.endswith(".py"):
            top = {name.split(".")[0] for name in imports_of(PROJECT_ROOT / path)}
            needed |= {t for t in top if t not in own and t not in sys.stdlib_module_names}
    assert needed - WITH_BENTOML <= listed, f"imported but not listed: {sorted(needed - WITH_BENTOML - listed)}"
    assert listed <= needed, f"listed but not imported by shipped code: {sorted(listed - needed)}"
    for name in ("fairlearn", "matplotlib", "jinja2", "shap"):
        assert name not in listed
    assert all(importlib.util.find_spec(name) is not None for name in listed)
