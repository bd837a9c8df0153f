"""The MLflow pyfunc wrapper around :class:`training.risk_model.RiskModel`.

Input: a DataFrame with one column ``case``, each row the JSON text of one
``features.single_case.SingleCase``. Output: one row per case with
person_id, as_of (ISO date), probability, base_value, top_raising and
top_lowering (JSON text lists of factors).

A model trained on a bring-your-own feature table takes feature rows instead
(its columns, plus the id and time columns when present) and returns the
same output columns.

The RiskModel is saved with joblib as the artifact ``risk_model`` and loaded
once in ``load_context``; batch scoring reuses it through
``loaded.unwrap_python_model().risk_model``. This module imports only
MLflow's pyfunc base at import time.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

CASE_COLUMN = "case"
RISK_MODEL_ARTIFACT = "risk_model"
NO_CASE_COLUMN = "the input needs a column {column!r} holding the JSON text of each case"


class SvriskPyfunc(mlflow.pyfunc.PythonModel):
    """Score and explain raw cases with the saved RiskModel."""

    def load_context(self, context: Any) -> None:
        import joblib

        self.risk_model = joblib.load(context.artifacts[RISK_MODEL_ARTIFACT])

    # A DataFrame hint makes MLflow take the schema from the logged signature (inferred
    # from the input example), which is what validates the input.
    def predict(self, context: Any, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        return score_cases(self.risk_model, model_input)


def score_cases(risk_model: Any, model_input: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's output for ``model_input`` (also used to build the logged signature)."""
    if risk_model.feature_config is None:
        out = risk_model.score_table(model_input)
    else:
        if CASE_COLUMN not in model_input.columns:
            raise ValueError(NO_CASE_COLUMN.format(column=CASE_COLUMN))
        from features.single_case import case_to_extract

        frames = []
        for text in model_input[CASE_COLUMN]:
            extract, cohort = case_to_extract(text)
            frames.append(risk_model.score(extract, cohort))
        out = pd.concat(frames, ignore_index=True)
        out["as_of"] = pd.to_datetime(out["as_of"]).dt.strftime("%Y-%m-%d")
    out["person_id"] = out["person_id"].astype(str)
    out["as_of"] = out["as_of"].astype(object)
    return out[["person_id", "as_of", "probability", "base_value", "top_raising", "top_lowering"]]
