"""Effect of engagement on the treated (ATT), as a risk difference, four ways.

All four estimate E[Y(1) - Y(0) | engaged]: Y is recorded serious violence in the
12 months after the referral. The models use point-in-time covariates only (known
on the referral date), never the referral's outcome or engagement.

* naive: mean Y of the engaged minus mean Y of the rest;
* prognostic-score matching: a logistic outcome model fitted on the not-engaged
  only (Hansen 2008), each engaged person matched to the nearest not-engaged
  person on its logit, with replacement, within a caliper;
* IPW: the not-engaged weighted by e / (1 - e) (propensity e), normalised;
* AIPW (doubly robust for the ATT): the prognostic model's residuals, the
  not-engaged ones weighted by e / (1 - e).

Bootstrap intervals resample referral rows and refit both models in every
resample, so the intervals carry the models' uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ESTIMATORS = ("naive", "prognostic_matching", "ipw", "aipw")
# Proper probabilities for the weights: a fitted 0 or 1 would make e / (1 - e) undefined.
_CLIP = 1e-6
REGULARISATION_C = 0.02


def _fit_logistic(X: np.ndarray, y: np.ndarray, start=None):
    """L2 logistic regression; ``start`` (a fitted one) warm-starts the solver (bootstrap refits)."""
    from sklearn.linear_model import LogisticRegression

    if start is not None:
        model = LogisticRegression(C=REGULARISATION_C, max_iter=300, tol=1e-4, warm_start=True)
        model.coef_, model.intercept_ = start.coef_.copy(), start.intercept_.copy()
        return model.fit(X, y)

    # Strong L2 on standardised columns: the outcome is rare (a few per cent) and there are
    # a hundred covariates, so a weakly penalised prognostic model overfits the comparison
    # group and inflates its predictions for the engaged.
    return LogisticRegression(C=REGULARISATION_C, max_iter=300, tol=1e-4).fit(X, y)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1.0 - _CLIP)
    return np.log(p / (1.0 - p))


def fit_propensity(X: np.ndarray, t: np.ndarray, start=None) -> tuple[np.ndarray, object]:
    """P(engaged | X), in-sample, and the fitted model."""
    model = _fit_logistic(X, t, start)
    return np.clip(model.predict_proba(X)[:, 1], _CLIP, 1.0 - _CLIP), model


def fit_prognostic(X: np.ndarray, t: np.ndarray, y: np.ndarray, start=None) -> tuple[np.ndarray, object]:
    """P(Y = 1 | X, not engaged) for everyone, from a model fitted without the engaged."""
    control = t == 0
    if y[control].min() == y[control].max():
        # No events (or all events) among the comparison group: the model is the constant.
        return np.full(len(y), float(y[control].mean())), start
    model = _fit_logistic(X[control], y[control], start)
    return model.predict_proba(X)[:, 1], model


@dataclass(frozen=True)
class PointEstimates:
    values: dict[str, float]
    matched_treated: int  # engaged people with a match within the caliper


def point_estimates(
    t: np.ndarray, y: np.ndarray, e: np.ndarray, mu0: np.ndarray, caliper_sd: float
) -> PointEstimates:
    """The four ATT estimates from given propensities ``e`` and prognostic scores ``mu0``."""
    treated, control = t == 1, t == 0
    n1 = treated.sum()
    naive = y[treated].mean() - y[control].mean()
    odds = e[control] / (1.0 - e[control])
    ipw = y[treated].mean() - np.sum(odds * y[control]) / np.sum(odds)
    aipw = (np.sum(y[treated] - mu0[treated]) - np.sum(odds * (y[control] - mu0[control]))) / n1
    matched, effect = prognostic_match(_logit(mu0), t, y, caliper_sd)
    return PointEstimates(
        values={"naive": naive, "prognostic_matching": effect, "ipw": ipw, "aipw": aipw},
        matched_treated=int(matched.sum()),
    )


def prognostic_match(score: np.ndarray, t: np.ndarray, y: np.ndarray, caliper_sd: float):
    """1-nearest-neighbour matching with replacement on ``score`` within ``caliper_sd`` SDs.

    Returns (matched flag per engaged person, mean of Y_engaged - Y_match over the matched).
    """
    treated, control = np.nonzero(t == 1)[0], np.nonzero(t == 0)[0]
    if len(control) < 2:
        return np.zeros(len(treated), dtype=bool), float("nan")
    order = np.argsort(score[control], kind="stable")
    pool = score[control][order]
    at = np.clip(np.searchsorted(pool, score[treated]), 1, len(pool) - 1)
    nearer_left = np.abs(score[treated] - pool[at - 1]) <= np.abs(score[treated] - pool[at])
    pick = np.where(nearer_left, at - 1, at)
    distance = np.abs(score[treated] - pool[pick])
    caliper = caliper_sd * float(np.std(score))
    matched = distance <= caliper
    if not matched.any():
        return matched, float("nan")
    partner = control[order[pick[matched]]]
    return matched, float(np.mean(y[treated[matched]] - y[partner]))


def bootstrap_estimates(
    X: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    resamples: int,
    seed: int,
    caliper_sd: float,
    models: tuple[object, object] | None = None,
) -> np.ndarray:
    """(resamples, 4) estimates in ``ESTIMATORS`` order; both models refitted each time.

    A resample with no engaged or no comparison person (or no outcome variation to
    fit) gives NaN; percentile intervals ignore it. ``models`` (the full-sample
    propensity and prognostic fits) warm-start every refit: the same optimum, reached
    in a few iterations.
    """
    propensity_start, prognostic_start = models if models is not None else (None, None)
    rng = np.random.default_rng(seed)
    out = np.full((resamples, len(ESTIMATORS)), np.nan)
    n = len(t)
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        tb, yb, Xb = t[idx], y[idx], X[idx]
        if tb.sum() < 1 or (tb == 0).sum() < 2:
            continue
        e, _ = fit_propensity(Xb, tb, propensity_start)
        mu0, _ = fit_prognostic(Xb, tb, yb, prognostic_start)
        est = point_estimates(tb, yb, e, mu0, caliper_sd)
        out[b] = [est.values[name] for name in ESTIMATORS]
    return out


def standardised_mean_differences(
    X: np.ndarray, t: np.ndarray, control_weights: np.ndarray | None = None
) -> np.ndarray:
    """(mean treated - weighted mean control) / pooled unweighted SD, per column."""
    treated, control = t == 1, t == 0
    w = np.ones(control.sum()) if control_weights is None else control_weights
    m1 = X[treated].mean(axis=0)
    m0 = np.average(X[control], axis=0, weights=w)
    sd = np.sqrt((X[treated].var(axis=0) + X[control].var(axis=0)) / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, (m1 - m0) / np.where(sd > 0, sd, 1.0), 0.0)


def e_value(risk_ratio: float) -> float:
    """VanderWeele and Ding's E-value of a risk ratio (1 at the null)."""
    if not np.isfinite(risk_ratio) or risk_ratio <= 0:
        return float("nan")
    rr = risk_ratio if risk_ratio >= 1.0 else 1.0 / risk_ratio
    return float(rr + np.sqrt(rr * (rr - 1.0)))
