"""The layers of docs/architecture.md, kept by reading every import of every package module.

A package may import itself and the packages on LOWER layers only; packages
on the same layer do not import each other. Imports inside functions count
too (they are still a dependency, only a later one). A new top-level package
must be given a layer in ``LAYERS`` below, or this test fails naming it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# From the ground up; extend a row (or add one) when a package is added. Packages in one
# row may not import each other: if one needs another, give it its own row above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("extract",),
    ("cluster",),  # a Dask client and one task per partition (docs/scale.md); imports extract only
    ("features",),
    ("runtime", "registry"),
    ("training",),
    ("explanations",),
    ("fairness",),
    ("serving",),
    ("governance",),  # reads the registry, the gate's audit, the contract and the service settings
    ("monitoring", "insights", "evaluation"),
    ("svrisk",),  # the CLI
)
# Folders that are not part of the layered code: they may import any package.
NOT_LAYERED = frozenset({"tests", "benchmarks", "notebooks", "docs", "models"})

LAYER_OF = {package: level for level, row in enumerate(LAYERS) for package in row}
UNKNOWN_PACKAGE = (
    "top-level package {name!r} has no layer: add it to LAYERS in tests/architecture/test_import_layers.py "
    "and to docs/architecture.md"
)


def top_level_packages(root: Path = PROJECT_ROOT) -> list[str]:
    """Folders under ``root`` holding Python code (an ``__init__.py`` or any ``.py`` file)."""
    return sorted(
        path.name for path in root.iterdir()
        if path.is_dir() and not path.name.startswith((".", "_")) and path.name not in NOT_LAYERED
        and (path / "__init__.py").is_file()
    )


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module name) of every absolute import in one module."""
    return imports_in_source(path.read_text(encoding="utf-8"), str(path))


def imports_in_source(source: str, filename: str) -> list[tuple[int, str]]:
    """(line, module name) of every absolute import in Python source text."""
    tree = ast.parse(source, filename=filename)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in one module."""
    return [(line, name.split(".")[0]) for line, name in imported_modules(path)]


def layer_violations(root: Path = PROJECT_ROOT) -> list[str]:
    """One line per import of a package on the same or a higher layer, naming file and line."""
    problems = []
    for package in top_level_packages(root):
        own = LAYER_OF[package]
        for path in sorted((root / package).rglob("*.py")):
            for line, imported in imported_packages(path):
                if imported == package or imported not in LAYER_OF:
                    continue  # itself, or a third-party / standard-library module
                if LAYER_OF[imported] >= own:
                    problems.append(
                        f"{path.relative_to(root)}:{line} imports {imported} "
                        f"(layer {LAYER_OF[imported]}) from {package} (layer {own})"
                    )
    return problems


def test_every_top_level_package_has_a_layer() -> None:
    unknown = [name for name in top_level_packages() if name not in LAYER_OF]
    assert not unknown, "\n".join(UNKNOWN_PACKAGE.format(name=name) for name in unknown)


def test_no_package_imports_a_layer_above_or_beside_it() -> None:
    problems = layer_violations()
    assert not problems, "imports that break the layers:\n" + "\n".join(problems)


def is_cli_module(name: str) -> bool:
    """A stage's command module: ``cli`` or ``*_cli`` (serving.audit_trail_cli)."""
    last = name.rsplit(".", 1)[-1]
    return last == "cli" or last.endswith("_cli")


def cli_imports_across_packages(root: Path = PROJECT_ROOT) -> list[str]:
    """One line per import of another package's command module by a command module (the CLI excepted).

    A stage's CLI used as a library ties two commands together: what they share
    (an option's type, its error message) belongs in a library module.
    """
    problems = []
    for package in top_level_packages(root):
        if package == "svrisk":
            continue  # the CLI: it assembles every stage's Typer app
        for path in sorted((root / package).rglob("*.py")):
            if not is_cli_module(path.stem):
                continue
            for line, imported in imported_modules(path):
                if is_cli_module(imported) and imported.split(".")[0] != package:
                    problems.append(f"{path.relative_to(root)}:{line} imports the command module {imported}")
    return problems


def test_no_command_module_imports_another_stages_command_module() -> None:
    problems = cli_imports_across_packages()
    assert not problems, "command modules used as libraries:\n" + "\n".join(problems)


# Besides the layered packages, the benchmarks are scripts that use the stages as libraries.
LIBRARY_USERS = ("benchmarks",)
# So are the notebooks' code cells.
NOTEBOOKS_FOLDER = "notebooks"


def notebook_imports(path: Path) -> list[tuple[str, str]]:
    """(where, module name) of every absolute import in a notebook's code cells; where is 'cell N line L'.

    Markdown cells are prose, so an import written there is not read.
    """
    found = []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells, start=1):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        found += [(f"cell {number} line {line}", name)
                  for line, name in imports_in_source(source, f"{path} cell {number}")]
    return found


def command_modules_used_as_libraries(root: Path = PROJECT_ROOT) -> list[str]:
    """One line per import of a command module by a module that is not one (the CLI excepted).

    What a command module defines that other code needs (a file name, a writer)
    belongs in a library module the command imports too; a command module is
    command-line code (Typer, rich) and is left out of the bento.
    """
    problems = []
    folders = [package for package in top_level_packages(root) if package != "svrisk"]
    folders += [name for name in LIBRARY_USERS if (root / name).is_dir()]
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if is_cli_module(path.stem):
                continue  # command modules are checked by cli_imports_across_packages
            for line, imported in imported_modules(path):
                if is_cli_module(imported):
                    problems.append(f"{path.relative_to(root)}:{line} imports the command module {imported}")
    for path in sorted((root / NOTEBOOKS_FOLDER).glob("*.ipynb")):
        for where, imported in notebook_imports(path):
            if is_cli_module(imported):
                problems.append(f"{path.relative_to(root)} {where} imports the command module {imported}")
    return problems


def test_no_library_module_imports_a_command_module() -> None:
    problems = command_modules_used_as_libraries()
    assert not problems, "command modules used as libraries:\n" + "\n".join(problems)


def test_the_command_module_check_names_an_offending_import(tmp_path: Path) -> None:
    # training's library module imports extract's command module; a command module and the CLI may.
    for name in ("extract", "training", "svrisk"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "extract" / "cli.py").write_text("TRUTH_DIR = '_truth'\n")
    (tmp_path / "training" / "card.py").write_text("def f():\n    from extract.cli import TRUTH_DIR\n")
    (tmp_path / "training" / "cli.py").write_text("from extract.cli import TRUTH_DIR\n")
    (tmp_path / "svrisk" / "cli.py").write_text("from extract.cli import TRUTH_DIR\n")
    assert command_modules_used_as_libraries(tmp_path) == [
        "training/card.py:2 imports the command module extract.cli"
    ]


def test_the_command_module_check_reads_notebook_code_cells(tmp_path: Path) -> None:
    # A code cell's import is reported with its cell and line; the same text in a markdown cell is not.
    (tmp_path / "notebooks").mkdir()
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["from extract.cli import TRUTH_DIR\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import json\n", "\n", "from fairness.cli import audit_score_file\n"]},
    ]
    (tmp_path / "notebooks" / "03_review.ipynb").write_text(json.dumps({"cells": cells}))
    assert command_modules_used_as_libraries(tmp_path) == [
        "notebooks/03_review.ipynb cell 2 line 3 imports the command module fairness.cli"
    ]


def test_the_check_names_an_offending_import(tmp_path: Path) -> None:
    # A tiny project where extract imports serving: the check must report that line.
    for name in ("extract", "serving"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "extract" / "loader.py").write_text("import json\n\ndef f():\n    from serving.errors import X\n")
    (tmp_path / "serving" / "errors.py").write_text("from extract.loader import f\n")
    assert layer_violations(tmp_path) == [
        "extract/loader.py:4 imports serving (layer 7) from extract (layer 0)"
    ]


def test_an_unknown_package_is_reported(tmp_path: Path) -> None:
    (tmp_path / "newstage").mkdir()
    (tmp_path / "newstage" / "__init__.py").write_text("")
    assert top_level_packages(tmp_path) == ["newstage"]
    assert "newstage" not in LAYER_OF


def module_of_file(path: Path, root: Path) -> str:
    """The dotted module name of a source file under ``root`` (a package's ``__init__`` is the package)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_circles(root: Path = PROJECT_ROOT) -> list[list[str]]:
    """Each set of project modules that import each other round a circle, sorted; none when imports run one way.

    Imports inside functions count: a function-level import that points back is
    still a circle, only one that Python does not trip over at import time.
    """
    files = [path for package in top_level_packages(root) for path in sorted((root / package).rglob("*.py"))]
    modules = {module_of_file(path, root): path for path in files}
    imports = {
        name: {imported for _, imported in imported_modules(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(imports[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += imports[name]
        return seen

    reach = {name: reachable(name) for name in modules}
    circles = {
        tuple(sorted(other for other in reach[name] if name in reach[other]))
        for name in modules if name in reach[name]
    }
    return sorted(list(circle) for circle in circles)


def test_no_modules_import_each_other_round_a_circle() -> None:
    circles = import_circles()
    assert not circles, "modules that import each other:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_the_circle_check_finds_a_function_level_import_back(tmp_path: Path) -> None:
    # b imports a at the top; a imports b inside a function; c imports a and is in no circle.
    (tmp_path / "extract").mkdir()
    (tmp_path / "extract" / "__init__.py").write_text("")
    (tmp_path / "extract" / "a.py").write_text("def f():\n    from extract.b import g\n")
    (tmp_path / "extract" / "b.py").write_text("from extract.a import f\n")
    (tmp_path / "extract" / "c.py").write_text("from extract.a import f\n")
    assert import_circles(tmp_path) == [["extract.a", "extract.b"]]
