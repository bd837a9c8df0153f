"""A tiny LightGBM model with numeric, categorical and missing inputs, shared by the explanation tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from known_logit_frames import make_frame


class IsotonicCalibrator:
    """sklearn IsotonicRegression behind the calibrator interface (``predict(raw) -> calibrated``)."""

    def __init__(self, raw: np.ndarray, y: np.ndarray) -> None:
        from sklearn.isotonic import IsotonicRegression

        self.model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.model.predict(raw)


@dataclass
class TinyModel:
    estimator: object
    calibrator: IsotonicCalibrator
    X: pd.DataFrame
    y: np.ndarray


@pytest.fixture(scope="session")
def tiny_model() -> TinyModel:
    from lightgbm import LGBMClassifier

    X, y = make_frame(3000, seed=1)
    estimator = LGBMClassifier(
        n_estimators=60, num_leaves=8, learning_rate=0.1, min_child_samples=20, verbose=-1, n_jobs=1
    ).fit(X, y)
    X_cal, y_cal = make_frame(2000, seed=2)
    calibrator = IsotonicCalibrator(estimator.predict_proba(X_cal)[:, 1], y_cal)
    return TinyModel(estimator, calibrator, X, y)


@pytest.fixture(scope="session")
def tiny_explainer(tiny_model: TinyModel):
    from runtime.shap_explainer import ProbabilityShapExplainer

    return ProbabilityShapExplainer(top_k=3).fit(
        tiny_model.estimator, tiny_model.calibrator, tiny_model.X.iloc[:200], None
    )


@dataclass
class PipelineModel:
    """A RiskModel built with the project's own pipeline on a small generated extract."""

    extract_dir: object
    extract: object
    table: object
    y: np.ndarray
    risk_model: object


@pytest.fixture(scope="session")
def pipeline_model(tmp_path_factory: pytest.TempPathFactory) -> PipelineModel:
    """Generated extract -> loader -> FeatureBuilder -> LightGBM -> Calibrator -> explainer -> RiskModel.

    The label is the generator's true outcome (recorded outcomes are too rare in 1,500
    people to learn from); the model is small so the fixture stays under a few seconds.
    """
    from lightgbm import LGBMClassifier

    from runtime.shap_explainer import ProbabilityShapExplainer
    from extract.loader import load_extract
    from extract.synthetic.generator import generate
    from extract.writer import write_extract
    from features.cohort import snapshot_cohort
    from features.dictionary import FeatureDictionary
    from features.pipeline import FeatureBuilder, FeatureConfig
    from runtime.calibration import Calibrator
    from runtime.risk_model import RiskModel

    synthetic = generate(people=1500, seed=11, start="2021-04-01", end="2025-03-31")
    folder = tmp_path_factory.mktemp("pipeline") / "extract"
    write_extract(synthetic.frames, folder, extracted_on=synthetic.extracted_on)
    extract = load_extract(folder)
    dates = ["2021-04-01", "2022-04-01", "2023-04-01", "2024-04-01"]
    cohort = snapshot_cohort(extract, dates)
    config = FeatureConfig()
    table = FeatureBuilder(config).transform(extract, cohort)
    truth = synthetic.truth[synthetic.truth["kind"] == "snapshot"]
    y = (
        table.keys.merge(truth[["person_id", "as_of", "true_outcome"]], on=["person_id", "as_of"], how="left")
        ["true_outcome"].fillna(0).to_numpy(dtype=int)
    )
    risk = RiskModel(
        feature_names=list(table.X.columns),
        categories={c: [str(v) for v in table.X[c].cat.categories] for c in table.X.columns
                    if isinstance(table.X[c].dtype, pd.CategoricalDtype)},
        feature_config=config,
        outcome={"description": "true outcome (test model)"},
    )
    X = risk.prepare(table.X)
    estimator = LGBMClassifier(
        n_estimators=60, num_leaves=15, min_child_samples=20, learning_rate=0.08, verbose=-1, n_jobs=1
    ).fit(X, y)
    raw = estimator.predict_proba(X)[:, 1]
    calibrator = Calibrator("platt").fit(raw, y)
    explainer = ProbabilityShapExplainer().fit(estimator, calibrator, X.iloc[:500], FeatureDictionary.load())
    risk.fit(estimator, calibrator, explainer, calibrator.predict(raw), metrics={})
    return PipelineModel(folder, extract, table, y, risk)
