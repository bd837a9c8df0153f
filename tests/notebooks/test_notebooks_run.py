"""The three notebooks run top to bottom on a small generated extract, and are stored without outputs.

Each notebook reads its parameters from environment variables (its first
code cell, tagged ``parameters``); the kernel inherits this process's
environment, including the per-test MLflow store of tests/conftest.py, so
notebook 03 reviews the candidate notebook 02 registered. The training
search is cut to one configuration, as in tests/serving/conftest.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

NOTEBOOKS = ("01_explore_extract.ipynb", "02_train_and_compare.ipynb", "03_fairness_review.ipynb")
CELL_TIMEOUT_S = 300


def _notebook(project_root: Path, name: str):  # noqa: ANN202 - nbformat.NotebookNode
    import nbformat

    return nbformat.read(project_root / "notebooks" / name, as_version=4)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_stored_without_outputs(project_root: Path, name: str) -> None:
    import nbformat

    notebook = _notebook(project_root, name)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code"
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), f"{name} has outputs"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert "parameters" in code[0].metadata.get("tags", []), f"{name}: the first code cell holds the parameters"


def test_notebooks_python3_kernel_is_this_interpreter() -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    command = KernelManager(kernel_name="python3").format_kernel_cmd()
    assert spec.language == "python"
    assert Path(command[0]).resolve() == Path(sys.executable).resolve()


@pytest.mark.slow
def test_notebooks_run_top_to_bottom(project_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    from extract.synthetic.extract_writer import write_synthetic_extract

    extract = tmp_path / "extract"
    write_synthetic_extract(extract, people=2000, seed=11, start="2018-04-01", end="2025-03-31")
    config = yaml.safe_load((project_root / "training" / "default.yaml").read_text())
    config["search"]["grid"] = config["search"]["grid"][:1]
    config["search"]["max_estimators"] = 80
    config["search"]["early_stopping_rounds"] = 20
    config["explainer_reference_rows"] = 200
    config["explanation_rows"] = 200
    config["n_jobs"] = 1
    (tmp_path / "training.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("SVRISK_NB_EXTRACT", str(extract))
    monkeypatch.setenv("SVRISK_NB_TRAINING_CONFIG", str(tmp_path / "training.yaml"))
    monkeypatch.setenv("SVRISK_NB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("SVRISK_NB_RESAMPLES", "40")

    for name in NOTEBOOKS:
        notebook = _notebook(project_root, name)
        NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    # What the notebooks leave behind: two compared runs and an audit of the candidate.
    assert (tmp_path / "output" / "audit" / "audit.json").is_file()
    assert (tmp_path / "output" / "audit" / "report.html").is_file()
