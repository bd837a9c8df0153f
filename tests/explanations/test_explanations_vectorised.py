"""The batch path of explain (issue 22) gives the very text and numbers of the per-case path it replaces."""

from __future__ import annotations

import json

import pytest

from runtime.shap_explainer import ProbabilityShapExplainer


def _both(explainer, X, k):
    prepared = explainer.prepare(X)
    base, contrib, probability = explainer.to_probability(explainer.log_odds_contributions(prepared))
    new = explainer._explanations(prepared, base, contrib, probability, k)
    old = explainer._explanations_per_case(prepared, base, contrib, probability, k)
    return [json.dumps(e) for e in new], [json.dumps(e) for e in old]


@pytest.mark.parametrize("k", [1, 5, 50])
def test_batch_path_equals_per_case_path_on_the_pipeline_model(pipeline_model, k):
    new, old = _both(pipeline_model.risk_model.explainer_, pipeline_model.table.X, k)
    assert new == old


def test_batch_path_equals_per_case_path_without_a_dictionary(tiny_model):
    explainer = ProbabilityShapExplainer().fit(tiny_model.estimator, tiny_model.calibrator, tiny_model.X)
    new, old = _both(explainer, tiny_model.X, 3)
    assert new == old
