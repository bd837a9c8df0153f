"""Old module names of pickled model parts, so versions registered before the move still load.

A logged model pickles its RiskModel (joblib) and its pyfunc class (cloudpickle)
by module path. Versions registered before ``runtime/`` existed name
``training.risk_model``, ``training.calibration``, ``training.pyfunc_model`` and
``explanations.shap_explainer``. :func:`legacy_module_names` adds an import
finder, for the duration of a load only, that answers those names with the
``runtime`` modules; a missing parent package (a bento ships no ``training/``
or ``explanations/``) is answered with an empty stand-in package. The finder
is consulted last, so it never shadows a module that really exists.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

LEGACY_MODULES: Mapping[str, str] = {
    "training.risk_model": "runtime.risk_model",
    "training.calibration": "runtime.calibration",
    "training.pyfunc_model": "runtime.pyfunc_model",
    "explanations.shap_explainer": "runtime.shap_explainer",
}


class _LegacyFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module name with its new module, and an absent old parent with a stand-in."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self.modules = dict(modules)
        self.parents = {name.rpartition(".")[0] for name in self.modules}
        self._own_specs: dict[str, Any] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in self.modules:
            return importlib.machinery.ModuleSpec(fullname, self)
        if fullname in self.parents:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        if spec.name in self.modules:
            module = importlib.import_module(self.modules[spec.name])
            self._own_specs[module.__name__] = module.__spec__
            return module
        stand_in = types.ModuleType(spec.name, "stand-in for a package this installation does not ship")
        stand_in.__path__ = []
        return stand_in

    def exec_module(self, module: types.ModuleType) -> None:
        # The new module is already executed (the stand-in has nothing to run); importlib
        # has just given it the old name's spec, so its own is put back.
        if module.__name__ in self._own_specs:
            module.__spec__ = self._own_specs[module.__name__]


@contextmanager
def legacy_module_names(modules: Mapping[str, str] = LEGACY_MODULES) -> Iterator[None]:
    """Inside the block, importing an old module name gives its new module (see the module docstring)."""
    finder = _LegacyFinder(modules)
    sys.meta_path.append(finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
