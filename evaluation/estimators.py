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

Intervals. A young person can be referred more than once, and their referrals'
outcome windows overlap, so rows are not independent: the bootstrap resamples
PEOPLE (all of a drawn person's referrals together), and repeats the whole
estimation in every resample (propensity fit, trimming, prognostic fit), so the
intervals carry the models' and the trimming's uncertainty. Matching with
replacement has no valid plain bootstrap (Abadie and Imbens 2008): its interval
is normal, from the Abadie-Imbens (2006) variance with people as clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ESTIMATORS = ("naive", "prognostic_matching", "ipw", "aipw")
# The estimators whose interval is the person-clustered bootstrap's (matching has its own variance).
BOOTSTRAPPED = ("naive", "ipw", "aipw")
# Proper probabilities for the weights: a fitted 0 or 1 would make e / (1 - e) undefined.
_CLIP = 1e-6
REGULARISATION_C = 0.02
BAD_TRIMMING = "trimming leaves {treated} engaged and {control} not-engaged people: nothing to compare"


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
class Match:
    """1-nearest-neighbour matches of the engaged (see ``prognostic_match``)."""

    matched: np.ndarray  # per engaged person (in row order): a partner within the caliper
    treated: np.ndarray  # row index of each matched engaged person
    partner: np.ndarray  # row index of their not-engaged partner (repeats: with replacement)
    effect: float  # mean of Y_engaged - Y_partner over the matched; NaN when none


def prognostic_match(score: np.ndarray, t: np.ndarray, y: np.ndarray, caliper_sd: float) -> Match:
    """1-nearest-neighbour matching with replacement on ``score`` within ``caliper_sd`` SDs."""
    treated, control = np.nonzero(t == 1)[0], np.nonzero(t == 0)[0]
    empty = np.zeros(0, dtype=np.int64)
    if len(control) < 2:
        return Match(np.zeros(len(treated), dtype=bool), empty, empty, float("nan"))
    order = np.argsort(score[control], kind="stable")
    pool = score[control][order]
    at = np.clip(np.searchsorted(pool, score[treated]), 1, len(pool) - 1)
    nearer_left = np.abs(score[treated] - pool[at - 1]) <= np.abs(score[treated] - pool[at])
    pick = np.where(nearer_left, at - 1, at)
    distance = np.abs(score[treated] - pool[pick])
    caliper = caliper_sd * float(np.std(score))
    matched = distance <= caliper
    if not matched.any():
        return Match(matched, empty, empty, float("nan"))
    partner = control[order[pick[matched]]]
    effect = float(np.mean(y[treated[matched]] - y[partner]))
    return Match(matched, treated[matched], partner, effect)


def matching_variance(match: Match, t: np.ndarray, y: np.ndarray, mu0: np.ndarray, groups: np.ndarray) -> float:
    """Abadie-Imbens (2006) variance of the matching ATT, people as clusters.

    The estimate minus its target is, to first order, (1/N1) times the sum of
    Y_i - mu0_i - ATT over the matched engaged i and of -K_j (Y_j - mu0_j) over the
    not-engaged j, K_j the times j is used as a match. Abadie and Imbens's variance
    is the sum of these terms' squares: the treatment-effect spread and the
    engaged's noise, plus K_j^2 times each partner's conditional variance (the
    reuse that a plain bootstrap cannot reproduce). The conditional means come from
    the prognostic model; summing the terms within a person before squaring allows
    for a person's referrals sharing outcomes.
    """
    n1 = len(match.treated)
    if n1 == 0:
        return float("nan")
    uses = np.bincount(match.partner, minlength=len(t)).astype(float)
    term = -uses * (y - mu0) * (t == 0)
    term[match.treated] += y[match.treated] - mu0[match.treated] - match.effect
    per_person = np.bincount(groups, weights=term)
    return float(np.sum(per_person**2) / n1**2)


def normal_interval(estimate: float, variance: float, confidence: float) -> tuple[float, float]:
    half = NormalDist().inv_cdf(0.5 + confidence / 2.0) * np.sqrt(variance)
    return float(estimate - half), float(estimate + half)


@dataclass(frozen=True)
class Estimation:
    """One run of the whole estimation: trimming, both models and the four estimates."""

    values: dict[str, float]
    kept: np.ndarray  # rows inside the trimming bounds
    propensity: np.ndarray  # for every row (before trimming)
    prognostic: np.ndarray  # mu0 for the kept rows
    match: Match  # indices into the kept rows
    models: tuple[object, object]


def estimate(
    X: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    trimming: tuple[float, float],
    caliper_sd: float,
    models: tuple[object, object] | None = None,
) -> Estimation:
    """Fit the propensity, trim rows outside ``trimming``, fit the prognostic model on the kept
    rows and compute the four estimates there. ``models`` warm-start the fits.

    Raises ``ValueError`` (``BAD_TRIMMING``) when the kept rows have no engaged or fewer
    than two not-engaged people.
    """
    propensity_start, prognostic_start = models if models is not None else (None, None)
    e_all, propensity_model = fit_propensity(X, t, propensity_start)
    kept = (e_all >= trimming[0]) & (e_all <= trimming[1])
    tk, yk = t[kept], y[kept]
    if tk.sum() < 1 or (tk == 0).sum() < 2:
        raise ValueError(BAD_TRIMMING.format(treated=int(tk.sum()), control=int((tk == 0).sum())))
    mu0, prognostic_model = fit_prognostic(X[kept], tk, yk, prognostic_start)
    values, match = point_estimates(tk, yk, e_all[kept], mu0, caliper_sd)
    return Estimation(values, kept, e_all, mu0, match, (propensity_model, prognostic_model))


def point_estimates(
    t: np.ndarray, y: np.ndarray, e: np.ndarray, mu0: np.ndarray, caliper_sd: float
) -> tuple[dict[str, float], Match]:
    """The four ATT estimates from given propensities ``e`` and prognostic scores ``mu0``."""
    treated, control = t == 1, t == 0
    n1 = treated.sum()
    naive = y[treated].mean() - y[control].mean()
    odds = e[control] / (1.0 - e[control])
    ipw = y[treated].mean() - np.sum(odds * y[control]) / np.sum(odds)
    aipw = (np.sum(y[treated] - mu0[treated]) - np.sum(odds * (y[control] - mu0[control]))) / n1
    match = prognostic_match(_logit(mu0), t, y, caliper_sd)
    values = {"naive": float(naive), "prognostic_matching": match.effect, "ipw": float(ipw), "aipw": float(aipw)}
    return values, match


def person_resample(groups: np.ndarray, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of one bootstrap resample of people: each drawn person brings all their rows."""
    draws = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
    return np.repeat(np.arange(len(groups)), draws[groups])


def bootstrap_estimates(
    X: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    resamples: int,
    seed: int,
    trimming: tuple[float, float],
    caliper_sd: float,
    models: tuple[object, object] | None = None,
) -> np.ndarray:
    """(resamples, 3) estimates in ``BOOTSTRAPPED`` order from a person-clustered bootstrap.

    ``groups`` numbers each row's person 0..P-1. Every resample repeats ``estimate``
    (propensity fit, trimming, prognostic fit); one whose trimming leaves nothing to
    compare gives NaN, which percentile intervals ignore. ``models`` (the full-sample
    fits) warm-start every refit: the same optimum, reached in a few iterations.
    """
    rng = np.random.default_rng(seed)
    n_groups = int(groups.max()) + 1
    out = np.full((resamples, len(BOOTSTRAPPED)), np.nan)
    for b in range(resamples):
        idx = person_resample(groups, n_groups, rng)
        try:
            run = estimate(X[idx], t[idx], y[idx], trimming, caliper_sd, models)
        except ValueError:
            continue  # nothing to compare in this resample: recorded as NaN
        out[b] = [run.values[name] for name in BOOTSTRAPPED]
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


@dataclass(frozen=True)
class RosenbaumBound:
    """Rosenbaum's sensitivity analysis of the matched pairs' McNemar test."""

    favouring: int  # discordant pairs in the estimate's direction
    discordant: int
    p_value_no_bias: float  # one-sided, at gamma = 1
    gamma: float  # largest hidden bias at which the one-sided p-value stays <= alpha; 1 if none


def rosenbaum_bound(match: Match, y: np.ndarray, alpha: float = 0.05, gamma_max: float = 20.0) -> RosenbaumBound:
    """Rosenbaum bounds (Rosenbaum 2002, ch. 4) for matched pairs with a binary outcome.

    In a discordant pair exactly one of the two had the outcome. Without hidden bias
    it is as likely to be either; if an unmeasured factor makes one of a pair up to
    gamma times as likely to engage (odds), the chance that the pair favours the
    estimate's direction is at most gamma / (1 + gamma), and the worst-case p-value
    is the binomial tail at that chance. The reported gamma is where that p-value
    reaches ``alpha``: the hidden bias that would explain the finding away.
    """
    from scipy.stats import binom

    treated_y, partner_y = y[match.treated], y[match.partner]
    fewer = int(np.sum((treated_y == 0) & (partner_y == 1)))  # the engaged one did not have the outcome
    more = int(np.sum((treated_y == 1) & (partner_y == 0)))
    favouring, discordant = max(fewer, more), fewer + more
    if discordant == 0:
        return RosenbaumBound(0, 0, 1.0, 1.0)

    def worst_p(gamma: float) -> float:
        return float(binom.sf(favouring - 1, discordant, gamma / (1.0 + gamma)))

    p_no_bias = worst_p(1.0)
    if p_no_bias > alpha:
        return RosenbaumBound(favouring, discordant, p_no_bias, 1.0)
    if worst_p(gamma_max) <= alpha:
        return RosenbaumBound(favouring, discordant, p_no_bias, gamma_max)
    low, high = 1.0, gamma_max  # worst_p rises with gamma: bisect for worst_p = alpha
    for _ in range(50):
        mid = (low + high) / 2.0
        low, high = (mid, high) if worst_p(mid) <= alpha else (low, mid)
    return RosenbaumBound(favouring, discordant, p_no_bias, round(low, 3))
