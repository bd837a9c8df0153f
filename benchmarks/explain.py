"""Benchmark: the cost of explanations, and batch scoring of a large extract; prints JSON.

Parts (all on synthetic extracts from ``extract.synthetic.generator``):

``tradeoff``
    Model size against explanation cost: LightGBM models of several sizes
    (trees x leaves x depth cap) trained on the same features, each with its
    test AUC (recorded and true outcome) and the time per case of raw
    prediction, of TreeSHAP (``pred_contrib``) and of the full ``explain``
    (TreeSHAP, mapping to probability points, sentences).
``default``
    The default training configuration (``training.fitting.fit_dataset``):
    model size, AUC, the time that explanations add per case when scoring
    10,000 cases in batch (``RiskModel.score`` with and without ``explain``),
    one case explained end to end from raw records through the pyfunc path
    (``runtime.pyfunc_model.score_cases``), the per-case cost of a batch of
    100 raw cases through the same pyfunc path (one call, as ``/score_batch``
    sends them), and the monotone sanity check on the suspension count.
``score``
    The default model logged and registered as training does
    (``training.record.log_and_register``) in a temporary MLflow store,
    then ``svrisk score`` run as a subprocess on an extract of
    ``--score-people`` people, timed wall-clock.

Usage, from the project root (``-m`` so that ``benchmarks/features.py`` does
not shadow the ``features`` package): ``python -m benchmarks.explain --people
12000 --score-people 200000 --out benchmarks/results/explain.json``
(``--parts tradeoff,default`` to skip the large run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SNAPSHOT = "2024-04-01"
START, END = "2018-04-01", "2025-03-31"
BATCH = 10_000
SINGLE_CASES = 40
PYFUNC_BATCH = 100
# (trees, leaves, max_depth): -1 is LightGBM's "no depth cap" (leaf-wise growth).
SIZES = ((100, 15, -1), (300, 31, -1), (300, 31, 6), (300, 15, 4), (600, 63, -1))
PARTS = ("tradeoff", "default", "score")


def _timed(fn, repeat: int = 1, clock=time.perf_counter):
    best = np.inf
    result = None
    for _ in range(repeat):
        start = clock()
        result = fn()
        best = min(best, clock() - start)
    return best, result


def _cpu_timed(fn, repeat: int = 1):
    """:func:`_timed` in CPU seconds of this process: less sensitive than wall clock to other
    processes on a shared machine (it still counts the cache and memory contention they cause)."""
    return _timed(fn, repeat, clock=time.process_time)


def _write(people: int, seed: int, folder: Path, fmt: str) -> Path:
    from extract.synthetic.generator import generate
    from extract.synthetic.truth_files import outcomes_path, write_outcomes
    from extract.writer import write_extract

    synthetic = generate(people=people, seed=seed, start=START, end=END)
    write_extract(synthetic.frames, folder, fmt=fmt, extracted_on=synthetic.extracted_on)
    outcomes = outcomes_path(folder)
    outcomes.parent.mkdir()
    write_outcomes(synthetic.truth, outcomes)
    return folder


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None


def _depths(booster) -> tuple[float, int]:
    def depth(node) -> int:
        if "leaf_value" in node:
            return 0
        return 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    values = [depth(t["tree_structure"]) for t in booster.dump_model()["tree_info"]]
    return float(np.mean(values)), int(np.max(values))


def _true_outcome(folder: Path, keys: pd.DataFrame) -> np.ndarray:
    from extract.synthetic.truth_files import outcomes_path

    truth = pd.read_csv(outcomes_path(folder), parse_dates=["as_of"])
    truth = truth[truth["kind"] == "snapshot"][["person_id", "as_of", "true_outcome"]]
    merged = keys.merge(truth, on=["person_id", "as_of"], how="left")
    return merged["true_outcome"].fillna(0).to_numpy(dtype=int)


def tradeoff(data, folder: Path, config, on_row=None) -> list[dict]:
    """Accuracy against explanation cost for each model size."""
    from lightgbm import LGBMClassifier

    from runtime.shap_explainer import ProbabilityShapExplainer
    from runtime.calibration import Calibrator

    train, val, test = data.rows("train"), data.rows("validation"), data.rows("test")
    X = data.X
    y = data.y.to_numpy(dtype=float)
    true_test = _true_outcome(folder, data.keys[test].reset_index(drop=True))
    X_test = X[test].reset_index(drop=True)
    batch = X_test.iloc[:BATCH]
    rows = []
    for trees, leaves, max_depth in SIZES:
        model = LGBMClassifier(
            n_estimators=trees, num_leaves=leaves, max_depth=max_depth, learning_rate=0.05,
            min_child_samples=100, reg_lambda=1.0, n_jobs=config.n_jobs, random_state=config.seed, verbose=-1,
        )
        fit_s, _ = _timed(lambda m=model: m.fit(X[train], y[train]))
        calibrator = Calibrator("platt").fit(model.predict_proba(X[val])[:, 1], y[val])
        explainer = ProbabilityShapExplainer().fit(model, calibrator, X[train].iloc[:500], data.dictionary)
        raw = model.predict_proba(X_test)[:, 1]
        predict_s, _ = _timed(lambda m=model: m.predict_proba(batch), repeat=2)
        contrib_s, _ = _timed(lambda e=explainer: e.log_odds_contributions(batch), repeat=2)
        explain_s, _ = _timed(lambda e=explainer: e.explain(batch), repeat=1)
        mean_depth, max_depth_seen = _depths(model.booster_)
        rows.append({
            "trees": trees, "num_leaves": leaves, "max_depth": max_depth,
            "mean_tree_depth": round(mean_depth, 2), "max_tree_depth": max_depth_seen,
            "fit_s": round(fit_s, 2),
            "auc_recorded": _auc(y[test].astype(int), raw),
            "auc_true_outcome": _auc(true_test, raw),
            "predict_ms_per_case": 1e3 * predict_s / len(batch),
            "treeshap_ms_per_case": 1e3 * contrib_s / len(batch),
            "explain_ms_per_case": 1e3 * explain_s / len(batch),
        })
        if on_row is not None:
            on_row(rows[-1])
    return rows


def default_model(data, folder: Path, config):
    """Train with the default configuration and time batch and single-case explanations."""
    from extract.loader import load_extract
    from features.cohort import snapshot_cohort
    from features.single_case import case_from_extract, cases_from_extract
    from runtime.pyfunc_model import CASE_COLUMN, score_cases
    from runtime.shap_explainer import booster_threads
    from training.fitting import fit_dataset

    fit_s, result = _timed(lambda: fit_dataset(data, config))
    risk = result.risk_model
    booster = risk.estimator_.booster_
    mean_depth, max_depth = _depths(booster)
    test = data.rows("test")
    true_test = _true_outcome(folder, data.keys[test].reset_index(drop=True))
    probability = risk.predict_features(data.X[test])

    extract = load_extract(folder)
    cohort = snapshot_cohort(extract, [SNAPSHOT]).iloc[:BATCH].reset_index(drop=True)
    plain_s, _ = _timed(lambda: risk.score(extract, cohort, explain=False), repeat=2)
    explained_s, scored = _timed(lambda: risk.score(extract, cohort, explain=True), repeat=2)
    plain_cpu, _ = _cpu_timed(lambda: risk.score(extract, cohort, explain=False), repeat=2)
    explained_cpu, _ = _cpu_timed(lambda: risk.score(extract, cohort, explain=True), repeat=2)
    # Where the explanations' time goes: TreeSHAP (LightGBM's C++ pred_contrib, threaded for a
    # batch) against everything after it (probability points, groups, words, JSON).
    prepared = risk.prepare(risk.build_features(extract, cohort).X)
    treeshap_s, phi = _timed(lambda: risk.explainer_.log_odds_contributions(prepared), repeat=2)
    treeshap_cpu, _ = _cpu_timed(lambda: risk.explainer_.log_odds_contributions(prepared), repeat=2)
    after_cpu, _ = _cpu_timed(lambda: [json.dumps(e) for e in _explain_from(risk.explainer_, prepared, phi)], repeat=2)

    rng = np.random.default_rng(config.seed)
    picks = rng.choice(len(cohort), size=min(SINGLE_CASES, len(cohort)), replace=False)
    cases = [
        json.dumps(case_from_extract(extract, cohort["person_id"].iloc[i], SNAPSHOT).model_dump(mode="json"))
        for i in picks
    ]
    score_cases(risk, pd.DataFrame({CASE_COLUMN: cases[:1]}))  # warm-up
    single, single_cpu = [], []
    for text in cases:
        seconds, _ = _timed(lambda t=text: score_cases(risk, pd.DataFrame({CASE_COLUMN: [t]})))
        single.append(seconds)
        seconds, _ = _cpu_timed(lambda t=text: score_cases(risk, pd.DataFrame({CASE_COLUMN: [t]})))
        single_cpu.append(seconds)
    batch_texts = [case.model_dump_json() for case in cases_from_extract(extract, cohort.iloc[:PYFUNC_BATCH])]
    pyfunc_batch_s, _ = _timed(lambda: score_cases(risk, pd.DataFrame({CASE_COLUMN: batch_texts})), repeat=3)
    single_plain, parse, explain_only = [], [], []
    for text in cases:
        seconds, (case_extract, case_cohort) = _timed(lambda t=text: _case(t))
        parse.append(seconds)
        seconds, _ = _timed(lambda e=case_extract, c=case_cohort: risk.score(e, c, explain=False))
        single_plain.append(seconds)
        one = risk.prepare(risk.build_features(case_extract, case_cohort).X)
        seconds, _ = _timed(lambda x=one: risk.explainer_.explain(x))
        explain_only.append(seconds)

    report = {
        "params": {k: v for k, v in result.params.items() if isinstance(v, (int, float, str))},
        "search_trials": result.trials,
        "trees": int(booster.num_trees()),
        "num_leaves": int(risk.estimator_.get_params()["num_leaves"]),
        "mean_tree_depth": round(mean_depth, 2),
        "max_tree_depth": max_depth,
        "fit_dataset_s": round(fit_s, 1),
        "auc_recorded": _auc(data.y[test].to_numpy(dtype=int), probability),
        "auc_true_outcome": _auc(true_test, probability),
        "batch_cases": len(cohort),
        "batch_score_without_explain_ms_per_case": 1e3 * plain_s / len(cohort),
        "batch_score_with_explain_ms_per_case": 1e3 * explained_s / len(cohort),
        "explanation_adds_ms_per_case": 1e3 * (explained_s - plain_s) / len(cohort),
        "explanation_adds_cpu_ms_per_case": 1e3 * (explained_cpu - plain_cpu) / len(cohort),
        "treeshap_ms_per_case": 1e3 * treeshap_s / len(cohort),
        "treeshap_cpu_ms_per_case": 1e3 * treeshap_cpu / len(cohort),
        "treeshap_threads": booster_threads(len(cohort)) or os.cpu_count(),
        "after_treeshap_cpu_ms_per_case": 1e3 * after_cpu / len(cohort),
        "single_case_end_to_end_ms_median": 1e3 * float(np.median(single)),
        "single_case_end_to_end_ms_p95": 1e3 * float(np.percentile(single, 95)),
        "single_case_end_to_end_cpu_ms_median": 1e3 * float(np.median(single_cpu)),
        "single_case_end_to_end_cpu_ms_p95": 1e3 * float(np.percentile(single_cpu, 95)),
        "pyfunc_batch_cases": len(batch_texts),
        "pyfunc_batch_ms_per_case": 1e3 * pyfunc_batch_s / len(batch_texts),
        "single_case_parse_and_validate_ms_median": 1e3 * float(np.median(parse)),
        "single_case_features_and_predict_ms_median": 1e3 * float(np.median(single_plain)),
        "single_case_explain_only_ms_median": 1e3 * float(np.median(explain_only)),
        "monotone_suspensions": monotone_check(risk, data.X[test].reset_index(drop=True), config.seed),
        "scored_rows_sample": int(len(scored)),
    }
    return report, result


def _explain_from(explainer, prepared: pd.DataFrame, phi: np.ndarray) -> list:
    """``explainer.explain`` after its TreeSHAP step, on values already computed."""
    base, contrib, probability = explainer.to_probability(phi)
    return explainer._explanations(prepared, base, contrib, probability, explainer.top_k)


def _case(text: str):
    from features.single_case import case_to_extract

    return case_to_extract(text)


def monotone_check(risk, X: pd.DataFrame, seed: int, feature: str = "suspensions_12m", cases: int = 500) -> dict:
    """Raise the suspension count 0..5 for sampled cases; count drops in that factor's contribution."""
    rng = np.random.default_rng(seed)
    sample = X.iloc[rng.choice(len(X), size=min(cases, len(X)), replace=False)].reset_index(drop=True)
    columns = []
    for count in range(6):
        _, contrib = risk.explainer_.contributions(risk.prepare(sample.assign(**{feature: float(count)})))
        columns.append(contrib[feature].to_numpy())
    steps = np.diff(np.column_stack(columns), axis=1)
    return {
        "feature": feature, "cases": len(sample), "counts": "0..5",
        "steps_lowering": int((steps < -1e-9).sum()), "steps": int(steps.size),
        "largest_drop": float(min(0.0, steps.min())),
    }


def score_run(result, data, config, score_people: int, seed: int, workdir: Path, fmt: str) -> dict:
    """Register the default model in a temporary store and time `svrisk score` on a large extract."""
    from training.record import log_and_register

    store = f"sqlite:///{workdir / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store}
    previous = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    os.environ.update({"MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store})
    try:
        log_and_register(result, data, config)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    generate_s, folder = _timed(lambda: _write(score_people, seed + 1, workdir / "large", fmt))
    out = workdir / "scores.parquet"
    command = [sys.executable, "-m", "svrisk.cli", "score", str(folder), "--as-of", SNAPSHOT, "--out", str(out)]
    start = time.perf_counter()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise RuntimeError(f"svrisk score failed ({finished.returncode}):\n{finished.stderr[-2000:]}")
    rows = len(pd.read_parquet(out, columns=["person_id"]))
    return {
        "people": score_people, "format": fmt, "generate_and_write_s": round(generate_s, 1),
        "cohort_rows": rows, "svrisk_score_wall_s": round(wall, 1),
        "ms_per_row": 1e3 * wall / rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=12_000, help="people in the training extract")
    parser.add_argument("--score-people", type=int, default=200_000, help="people in the scored extract")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; choose from {PARTS}")

    from training.config import load_config
    from training.datasets import dataset_from_extract

    config = load_config()
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version()},
        "people": args.people, "seed": args.seed,
    }

    def save() -> str:
        # Written after every part, so a long run that is stopped keeps what it measured.
        report["machine"]["load_average_now"] = os.getloadavg()
        text = json.dumps(report, indent=2, default=float)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")
        return text

    with tempfile.TemporaryDirectory(prefix="svrisk-bench-explain-") as tmp:
        workdir = Path(tmp)
        folder = _write(args.people, args.seed, workdir / "train", "parquet")
        data_s, data = _timed(lambda: dataset_from_extract(folder, config))
        report["dataset"] = {"rows": len(data.X), "features": data.X.shape[1], "build_s": round(data_s, 1),
                             "recorded_prevalence": float(data.y.mean())}
        if "default" in parts or "score" in parts:
            report["default_model"], result = default_model(data, folder, config)
            save()
            if "score" in parts:
                report["svrisk_score"] = score_run(
                    result, data, config, args.score_people, args.seed, workdir, args.format
                )
                save()
        if "tradeoff" in parts:
            report["tradeoff"] = []
            tradeoff(data, folder, config, on_row=lambda row: (report["tradeoff"].append(row), save()))
    print(save())


if __name__ == "__main__":
    main()
