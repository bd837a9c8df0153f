"""The training reference keeps no person-level data (docs/data-protection.md), and monitoring still reads it.

Every stored share stands for at least MINIMUM_PEOPLE people (or none), every
stored quantile has at least that many people below and above it, and no
person's own extreme value (a minimum or maximum) is kept.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import input_drift, prepare_reference
from monitoring.policy import load_policy
from training.reference import MINIMUM_PEOPLE, OTHER_CATEGORY, build_reference, merge_small_bins

N = 3000


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(100.0, 10.0, N)
    income[0], income[1] = -5_000.25, 9_999.75  # one person's minimum and maximum
    count = np.zeros(N)
    count[:3] = [1.0, 2.0, 7.0]  # three people with any contact at all
    sen = np.array(["none"] * (N - 45) + ["sen_support"] * 33 + ["ehcp"] * 6 + ["hospital"] * 5 + [None])
    rare_missing = income.copy()
    rare_missing[5:9] = np.nan  # four people missing
    mostly_missing = np.full(N, np.nan)
    mostly_missing[:6] = 1.0  # six people recorded
    return pd.DataFrame({"income": income, "count": count, "rare_missing": rare_missing,
                         "mostly_missing": mostly_missing,
                         "sen": pd.Categorical(sen, categories=["none", "sen_support", "ehcp", "hospital"])})


@pytest.fixture(scope="module")
def reference():
    X = _frame(1)
    return X, build_reference(X, np.linspace(0.0, 0.3, N) ** 2, pd.Series(["2022-04-01"] * N), 365)


def test_no_extreme_value_is_kept(reference):
    _, document = reference
    text = json.dumps(document)
    assert "-5000.25" not in text and "9999.75" not in text
    score = document["score"]
    assert min(score["quantiles"]) > 0.0 and max(score["quantiles"]) < 0.09, "no minimum or maximum score"


def test_every_quantile_has_enough_people_either_side(reference):
    X, document = reference
    for name in ("income", "count", "rare_missing"):
        stored = document["inputs"][name]
        present = np.sort(X[name].dropna().to_numpy())
        assert stored["quantile_levels"][0] >= 0.01 and stored["quantile_levels"][-1] <= 0.99
        for level, value in zip(stored["quantile_levels"], stored["quantiles"], strict=True):
            assert level * len(present) >= MINIMUM_PEOPLE and (1 - level) * len(present) >= MINIMUM_PEOPLE
            assert (present <= value).sum() >= MINIMUM_PEOPLE or value == present[0]


def test_every_share_stands_for_enough_people_or_none(reference):
    X, document = reference
    for name, stored in document["inputs"].items():
        n = stored["n"]
        assert stored["missing"] * n == 0 or stored["missing"] * n >= MINIMUM_PEOPLE - 1e-9, name
        assert (1 - stored["missing"]) * n == 0 or (1 - stored["missing"]) * n >= MINIMUM_PEOPLE - 1e-9, name
        present = n * (1 - stored["missing"])
        shares = stored["shares"].values() if isinstance(stored["shares"], dict) else stored["shares"]
        for share in shares:
            people = share * (n if stored["kind"] == "category" else present)
            assert people == 0 or people >= MINIMUM_PEOPLE - 1e-9, (name, share)
    # The three people with a contact share no bin of their own; the rare categories are merged.
    assert document["inputs"]["count"]["edges"] == []
    sen = document["inputs"]["sen"]
    assert sen["merged"] == ["(missing)", "ehcp", "hospital"] and sen["shares"][OTHER_CATEGORY] == pytest.approx(12 / N)
    assert document["inputs"]["rare_missing"]["missing"] == 0.0
    assert document["inputs"]["mostly_missing"]["missing"] == 1.0
    assert document["inputs"]["mostly_missing"]["quantiles"] == []


def test_merged_bins_keep_their_order_and_totals():
    edges, counts = merge_small_bins([1.0, 2.0, 3.0], np.array([50, 3, 40, 2]), 10)
    assert counts.sum() == 95 and ((counts == 0) | (counts >= 10)).all()
    assert edges == [1.0] and counts.tolist() == [50, 45]


def test_monitoring_reads_the_reference_and_counts_merged_categories_as_other(reference):
    X, document = reference
    drift = {d.input: d for d in input_drift(X, prepare_reference(document), {}, "p", load_policy().drift)}
    assert drift["income"].psi < 0.01 and drift["income"].effect_size < 0.02
    assert drift["sen"].new_categories == [] and drift["sen"].psi < 0.01, "hospital and ehcp counted as (other)"
    unseen = X.assign(sen=X["sen"].cat.add_categories(["boarding"]))
    unseen.loc[: N // 5, "sen"] = "boarding"
    drift = {d.input: d for d in input_drift(unseen, prepare_reference(document), {}, "p", load_policy().drift)}
    assert drift["sen"].new_categories == ["boarding"]
