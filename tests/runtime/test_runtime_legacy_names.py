"""Models registered before the move to runtime/ still load: their pickles name the old modules."""

from __future__ import annotations

import importlib
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from runtime.calibration import Calibrator
from runtime.legacy_names import LEGACY_MODULES, legacy_module_names
from runtime.risk_model import RiskModel


def old_pickle(obj: object) -> bytes:
    """``obj`` pickled as a version registered before the move would be: old module names.

    Protocol 2 writes each class as a text ``c<module>\\n<name>\\n`` opcode, so the
    module names can be swapped byte for byte.
    """
    data = pickle.dumps(obj, protocol=2)
    for old, new in LEGACY_MODULES.items():
        data = data.replace(f"c{new}\n".encode(), f"c{old}\n".encode())
    return data


def small_risk_model() -> RiskModel:
    calibrator = Calibrator("platt").fit(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    model = RiskModel(feature_names=["a", "b"], categories={"b": ["x", "y"]})
    model.calibrator_ = calibrator
    return model


def test_a_pickle_under_old_names_loads_as_the_runtime_classes() -> None:
    data = old_pickle(small_risk_model())
    assert b"ctraining.risk_model\n" in data and b"ctraining.calibration\n" in data
    with legacy_module_names():
        loaded = pickle.loads(data)
    assert type(loaded) is RiskModel and type(loaded.calibrator_) is Calibrator
    assert loaded.calibrator_.predict(np.array([0.5]))[0] == pytest.approx(0.5, abs=0.05)
    # The runtime modules keep their own identity.
    assert sys.modules["runtime.risk_model"].__spec__.name == "runtime.risk_model"


def test_outside_the_block_old_names_are_not_resolved() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("explanations.not_a_module_anywhere")
    assert not any(type(f).__name__ == "_LegacyFinder" for f in sys.meta_path)


def test_an_old_parent_package_that_is_not_shipped_gets_a_stand_in() -> None:
    # As in a bento, which ships no training/: the parent itself does not exist.
    try:
        with legacy_module_names({"svrisk_removed_stage.calibration": "runtime.calibration"}):
            module = importlib.import_module("svrisk_removed_stage.calibration")
        assert module is sys.modules["runtime.calibration"]
        assert sys.modules["svrisk_removed_stage"].__path__ == []
    finally:
        sys.modules.pop("svrisk_removed_stage.calibration", None)
        sys.modules.pop("svrisk_removed_stage", None)


def test_an_mlflow_model_logged_under_old_names_loads(tmp_path: Path) -> None:
    import joblib
    import mlflow.pyfunc

    from runtime.pyfunc_model import RISK_MODEL_ARTIFACT, SvriskPyfunc, load_logged_model

    artifact = tmp_path / "risk_model.joblib"
    artifact.write_bytes(old_pickle(small_risk_model()))
    folder = tmp_path / "model"
    mlflow.pyfunc.save_model(str(folder), python_model=SvriskPyfunc(),
                             artifacts={RISK_MODEL_ARTIFACT: str(artifact)}, pip_requirements=["mlflow"])
    # The pyfunc class itself, as the old training.pyfunc_model pickled it.
    python_model = folder / "python_model.pkl"
    python_model.write_bytes(old_pickle(joblib.load(python_model)))
    assert b"ctraining.pyfunc_model\n" in python_model.read_bytes()

    risk_model = load_logged_model(folder).unwrap_python_model().risk_model
    assert type(risk_model) is RiskModel and risk_model.feature_names == ["a", "b"]
