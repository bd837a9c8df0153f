"""The MLflow pyfunc wrapper around :class:`runtime.risk_model.RiskModel`.

Input: a DataFrame with one column ``case``, each row the JSON text of one
``features.single_case.SingleCase``. Output: one row per case with
person_id, as_of (ISO date), probability, base_value, top_raising and
top_lowering (JSON text lists of factors).

A model trained on a bring-your-own feature table takes feature rows instead
(its columns, plus the id and time columns when present) and returns the
same output columns.

The RiskModel is saved with joblib as the artifact ``risk_model`` and loaded
once in ``load_context``; batch scoring reuses it through
``loaded.unwrap_python_model().risk_model``. This module imports MLflow's
pyfunc base and the light runtime.risk_model at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from extract.canonical import table_frame
from runtime.risk_model import SCORE_COLUMNS

CASE_COLUMN = "case"
RISK_MODEL_ARTIFACT = "risk_model"
ERR_NO_CASE_COLUMN = "the input needs a column {column!r} holding the JSON text of each case"
CASE_POSITION = "in case {position} of the input (0-based row)"
FACTOR_COLUMNS = ("top_raising", "top_lowering")


class SvriskPyfunc(mlflow.pyfunc.PythonModel):
    """Score and explain raw cases with the saved RiskModel."""

    def load_context(self, context: Any) -> None:
        import joblib

        self.risk_model = joblib.load(context.artifacts[RISK_MODEL_ARTIFACT])

    # A DataFrame hint makes MLflow take the schema from the logged signature (inferred
    # from the input example), which is what validates the input.
    def predict(self, context: Any, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        return score_cases(self.risk_model, model_input)


def load_logged_model(folder: str | Path) -> Any:
    """The MLflow pyfunc in a local model folder (already verified by the caller).

    Parts pickled under their pre-``runtime`` module names load too
    (:mod:`runtime.legacy_names`), so versions registered before the move keep working.
    """
    from runtime.legacy_names import legacy_module_names

    with legacy_module_names():
        return mlflow.pyfunc.load_model(str(folder))


def score_cases(risk_model: Any, model_input: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's output for ``model_input`` (also used to build the logged signature).

    All cases are scored together: one validated extract
    (``features.single_case.cases_to_extract``), one feature build, one
    prediction and one explanation, so a batch pays the fixed costs once.
    Rows come out in the input's order.

    A batch is all or nothing: if any case breaks the contract, the whole batch
    is refused with that error. A case that does not parse raises pydantic's
    ``ValidationError`` with a note naming its position (0-based) in the
    input; a record the loader refuses raises its ``ExtractValidationError``
    for the batch (the service names the case by re-checking the cases one by
    one, only on that error path). Several cases of the same person (the
    single-case path scores one row per person) are scored in rounds, the
    k-th case of each person in round k, so every case still gets its own
    score.
    """
    if risk_model.feature_config is None:
        scored = risk_model.score_table(model_input)
        return table_frame(_output_columns({name: scored[name].to_numpy() for name in SCORE_COLUMNS}))
    if CASE_COLUMN not in model_input.columns:
        raise ValueError(ERR_NO_CASE_COLUMN.format(column=CASE_COLUMN))
    return table_frame(score_parsed_cases(risk_model, _parse_cases(model_input[CASE_COLUMN])))


def score_parsed_cases(risk_model: Any, cases: list[Any]) -> dict[str, np.ndarray]:
    """:func:`score_cases` for validated ``SingleCase`` objects, as columns (no DataFrame).

    The service validates each request into a ``SingleCase`` itself and reads
    the result column by column, so it calls this rather than going through a
    one-column frame in and a frame out.
    """
    from features.single_case import cases_to_extract

    rounds = _rounds_by_person([case.person.person_id for case in cases])
    if len(rounds) <= 1:  # no cases: cases_to_extract says so
        return _output_columns(risk_model.score_columns(*cases_to_extract(cases)))
    parts = [risk_model.score_columns(*cases_to_extract([cases[i] for i in positions]))
             for positions in rounds]
    # Back to the input's order: round k holds the k-th case of each person.
    order = np.argsort(np.concatenate(rounds), kind="stable")
    return _output_columns({name: np.concatenate([_as_array(name, part[name]) for part in parts])[order]
                            for name in SCORE_COLUMNS})


def _output_columns(columns: dict[str, Any]) -> dict[str, np.ndarray]:
    """The pyfunc's output columns as arrays: person_id and as_of as text (dates as ISO text)."""
    columns = {name: _as_array(name, columns[name]) for name in SCORE_COLUMNS}
    columns["person_id"] = np.array([str(v) for v in columns["person_id"]], dtype=object)
    as_of = columns["as_of"]
    if as_of.dtype.kind == "M":
        as_of = np.datetime_as_string(as_of.astype("datetime64[D]"), unit="D")
    columns["as_of"] = as_of.astype(object)
    return columns


def _as_array(name: str, values: Any) -> np.ndarray:
    # The factor columns are JSON text (None when not explained): always Python objects.
    return np.asarray(values, dtype=object if name in FACTOR_COLUMNS else None)


def _parse_cases(texts: pd.Series) -> list[Any]:
    """Each row's validated ``SingleCase``; a case that does not parse is named by position."""
    from features.single_case import parse_case

    cases = []
    for position, text in enumerate(texts):
        try:
            cases.append(parse_case(text))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            exc.add_note(CASE_POSITION.format(position=position))
            raise
    return cases


def _rounds_by_person(person_ids: list[str]) -> list[list[int]]:
    """Input positions split so that no person appears twice in a round (one round when all differ)."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for position, person_id in enumerate(person_ids):
        k = seen.get(person_id, 0)
        seen[person_id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(position)
    return rounds
