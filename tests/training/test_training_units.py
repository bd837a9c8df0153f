"""Unit tests: configuration, temporal split, calibration, metrics, embedded tracking store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime.calibration import Calibrator, choose_method
from training.config import TrainingConfig, load_config
from training.metrics import evaluate, expected_calibration_error, top_k_counts
from training.split import group_split, ordered_split, snapshot_split


def test_training_config_default_round_trips_and_refuses_unknown(tmp_path: Path) -> None:
    assert load_config() == TrainingConfig()
    path = tmp_path / "c.yaml"
    path.write_text(TrainingConfig(seed=7, include_protected=["ethnicity"]).to_yaml())
    loaded = load_config(path)
    assert loaded.seed == 7 and loaded.include_protected == ["ethnicity"]
    assert load_config(path, seed=9).seed == 9
    path.write_text("seeed: 3\n")
    with pytest.raises(ValueError, match="seeed"):
        load_config(path)
    path.write_text("version: 2\n")
    with pytest.raises(ValueError, match="version 2 is not supported"):
        load_config(path)
    path.write_text("include_protected: [religion]\n")
    with pytest.raises(ValueError, match="religion"):
        load_config(path)
    with pytest.raises(ValueError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_training_snapshot_split_purges_overlapping_windows() -> None:
    dates = pd.to_datetime(["2019-04-01", "2020-04-01", "2020-10-01", "2021-04-01", "2022-04-01",
                            "2023-04-01"])
    as_of = pd.Series(np.repeat(dates, 4))
    label = pd.Series(np.tile([0.0, 1.0, 0.0, 1.0], len(dates)))
    label[as_of == pd.Timestamp("2023-04-01")] = np.nan  # window not observed yet
    period, summary = snapshot_split(as_of, label, horizon_days=365)
    assert summary.test == ("2022-04-01",) and summary.validation == ("2021-04-01",)
    # 2020-10-01's window runs past the validation date, so it never trains.
    assert period[as_of == pd.Timestamp("2020-10-01")].isna().all()
    assert (period[as_of == pd.Timestamp("2019-04-01")] == "train").all()
    assert period[label.isna()].isna().all()
    assert summary.train == ("2019-04-01", "2020-04-01")


def test_training_split_needs_three_periods_and_both_classes() -> None:
    as_of = pd.Series(pd.to_datetime(["2020-04-01", "2021-04-01"] * 3))
    with pytest.raises(ValueError, match="at least 3"):
        snapshot_split(as_of, pd.Series([0.0, 1.0] * 3), 365)
    order = pd.Series([1, 2, 3, 4, 5] * 2)
    with pytest.raises(ValueError, match="only one outcome class"):
        ordered_split(order, pd.Series([0.0] * 10))


def test_training_ordered_and_group_splits_keep_values_and_ids_together() -> None:
    order = pd.Series(np.repeat(np.arange(10), 10))
    label = pd.Series(np.tile([0.0, 1.0], 50))
    period, _ = ordered_split(order, label)
    assert set(order[period == "test"]) == {8, 9} and set(order[period == "validation"]) == {6, 7}
    ids = pd.Series(np.repeat([f"p{i}" for i in range(50)], 2))
    period, _ = group_split(ids, label, seed=1)
    assert (period.groupby(ids).nunique() == 1).all()
    again, _ = group_split(ids, label, seed=1)
    assert period.equals(again)


def test_training_calibrators_are_monotone_and_choice_is_cross_fitted() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.001, 0.3, 4000)
    y = (rng.random(4000) < raw * 0.5).astype(float)  # raw probabilities twice too high
    groups = pd.Series([f"p{i}" for i in range(4000)])
    method, briers = choose_method(raw, y, groups, seed=0)
    assert set(briers) == {"isotonic", "platt"} and method in briers
    grid = np.linspace(0, 1, 200)
    for name in ("isotonic", "platt"):
        calibrated = Calibrator(name).fit(raw, y).predict(grid)
        assert np.all(np.diff(calibrated) >= -1e-12)
        assert abs(Calibrator(name).fit(raw, y).predict(raw).mean() - y.mean()) < 0.01
    with pytest.raises(ValueError, match="not fitted"):
        Calibrator("platt").predict(grid)
    with pytest.raises(ValueError, match="unknown calibration"):
        Calibrator("spline").fit(raw, y)  # type: ignore[arg-type]


def test_training_top_k_shares_ties_and_metrics_are_right() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 0], dtype=float)
    flag = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=float)  # 2 positives in 4 tied
    assert top_k_counts(y, flag, 2) == pytest.approx(1.0)
    assert top_k_counts(y, flag, 4) == pytest.approx(2.0)
    assert top_k_counts(y, flag, 6) == pytest.approx(2.0 + 2 * 1 / 6)
    perfect = evaluate(y, y * 0.9 + 0.05, top_fractions=[0.1], capacity=3, ece_bins=2)
    assert perfect["roc_auc"] == 1.0 and perfect["precision_top3"] == 1.0
    assert perfect["recall_top3"] == 1.0 and perfect["precision_top10pct"] == 1.0
    rules = evaluate(y, flag, top_fractions=[0.1], capacity=3, ece_bins=2, probabilistic=False)
    assert "brier" not in rules
    p = np.full(1000, 0.1)
    outcome = (np.arange(1000) < 100).astype(float)
    assert expected_calibration_error(outcome, p, bins=10) == pytest.approx(0.0)
    assert expected_calibration_error(outcome, p * 2, bins=10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="0/1"):
        evaluate(np.zeros(5), np.zeros(5), top_fractions=[0.1], capacity=1, ece_bins=2)


def test_training_embedded_store_under_home_and_env_restored(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from registry.tracking import embedded_tracking_uri, resolve_tracking_uri, tracking_store

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    monkeypatch.setenv("SVRISK_HOME", str(tmp_path))
    expected = f"sqlite:///{tmp_path.resolve() / 'mlruns' / 'mlflow.db'}"
    assert resolve_tracking_uri() == expected == embedded_tracking_uri()
    with tracking_store() as uri:
        assert uri == expected and os.environ["MLFLOW_TRACKING_URI"] == expected
        assert (tmp_path / "mlruns").is_dir()
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    monkeypatch.delenv("SVRISK_HOME")
    assert resolve_tracking_uri() == f"sqlite:///{Path.cwd().resolve() / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    with tracking_store() as uri:
        assert uri == "http://127.0.0.1:5999"


def test_training_is_reproducible(feature_table_csv: Path, fast_config) -> None:
    from training.datasets import dataset_from_table
    from training.fitting import fit_dataset

    def once():  # noqa: ANN202
        data = dataset_from_table(feature_table_csv, id_column="pid", label_column="outcome",
                                  protected=["sex"], time_column=None, config=fast_config)
        return fit_dataset(data, fast_config)

    first, second = once(), once()
    for model, values in first.metrics.items():
        for key, value in values.items():
            assert second.metrics[model][key] == pytest.approx(value, abs=1e-9), (model, key)
    assert (first.risk_model.estimator_.booster_.model_to_string()
            == second.risk_model.estimator_.booster_.model_to_string())
    pd.testing.assert_frame_equal(first.predictions, second.predictions)
    assert "ethnicity" in first.risk_model.feature_names  # not declared protected: an input
    assert "sex" not in first.risk_model.feature_names
