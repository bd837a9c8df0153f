"""`svrisk impact`'s computation: cohort, covariates, trimming, estimates, balance, sensitivity.

Two questions (``treatment``):

* ``engaged``: the referral rows (optionally one programme and a date range) whose
  12-month outcome window is fully observed; treated = engaged (a non-empty
  ``engaged_on``), compared with the referrals that did not engage.
* ``referred``: the same referral rows, all treated, compared with young people who
  were never referred, each on a date drawn from the referral dates (so their
  point-in-time features are taken when a referral could have been).

Covariates: the feature pipeline's point-in-time features on the row's date, plus
recorded sex and (for ``engaged``) the referral's source; never the referral's
outcome or engagement (data contract 1.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.config import ImpactConfig
from evaluation.estimators import (
    BOOTSTRAPPED,
    ESTIMATORS,
    bootstrap_estimates,
    e_value,
    estimate,
    matching_variance,
    normal_interval,
    rosenbaum_bound,
    standardised_mean_differences,
)
from extract.contract import DEFAULT_OUTCOME, Extract

NO_REFERRALS = "the extract has no referrals table: there is nothing to evaluate"
NO_ROWS = "no referral with a fully observed 12-month outcome matches the programme and dates given"
TOO_FEW_ENGAGED = (
    "{found} {who} people (after trimming) is below the floor of {floor} "
    "(minimum_engaged in the impact config): too few for an estimate"
)
TOO_FEW_COMPARISON = "{found} people {others} is below the floor of {floor}: no comparison group"
NO_OVERLAP = (
    "no overlap: {dropped} of {engaged} {who} people have no comparable person {others} "
    "(propensity outside [{lower}, {upper}]); fewer than {floor} remain"
)
NO_NEVER_REFERRED = "every young person in the extract was referred: no comparison group for --treatment referred"
# How the report names the treated and the comparison group, per treatment.
TREATMENTS = {
    "engaged": ("engaged", "who did not engage"),
    "referred": ("referred", "never referred"),
}
BAD_TREATMENT = "treatment must be one of {allowed}, got {value!r}"


VWI_SHARE_SCOPE = (
    "share of the evaluated young people's recorded serious-violence episodes in their 12-month outcome "
    "windows that are violence with injury (a police violence_with_injury row or an ED assault attendance)"
)


class ImpactInputError(ValueError):
    """The input cannot support an estimate (the CLI exits 2)."""


@dataclass
class ImpactResult:
    population: dict
    trimming: dict
    estimates: dict[str, dict[str, float]]
    balance: pd.DataFrame
    sensitivity: dict
    pricing: dict  # the violence-with-injury share that turns episodes into priced offences
    propensity: np.ndarray = field(repr=False)
    treated: np.ndarray = field(repr=False)
    kept_keys: pd.DataFrame = field(repr=False)


def evaluation_cohort(
    extract: Extract,
    programme: str | None = None,
    date_from=None,
    date_to=None,
    treatment: str = "engaged",
    comparison=None,
) -> pd.DataFrame:
    """Rows in scope with ``treated`` (0/1) and ``outcome_label`` (0/1).

    ``engaged``: referral rows, treated when engaged. ``referred``: referral rows (treated) and
    never-referred comparison rows drawn as ``comparison`` (``ReferredComparison``) says.
    """
    from features.cohort import referral_cohort
    from features.labels import build_labels

    if treatment not in TREATMENTS:
        raise ValueError(BAD_TREATMENT.format(allowed=", ".join(TREATMENTS), value=treatment))
    if not extract.has_referrals:
        raise ImpactInputError(NO_REFERRALS)
    referrals = extract["referrals"].reset_index(drop=True)
    cohort = referral_cohort(extract).reset_index(drop=True)
    keep = np.ones(len(cohort), dtype=bool)
    if programme is not None:
        keep &= (referrals["programme"] == programme).to_numpy()
    if date_from is not None:
        keep &= (cohort["as_of"] >= pd.Timestamp(date_from)).to_numpy()
    if date_to is not None:
        keep &= (cohort["as_of"] <= pd.Timestamp(date_to)).to_numpy()
    if treatment == "engaged":
        cohort["treated"] = referrals["engaged_on"].notna().astype(np.int64).to_numpy()
    else:
        cohort["treated"] = np.ones(len(cohort), dtype=np.int64)
    cohort = cohort[keep].reset_index(drop=True)
    if treatment == "referred" and len(cohort):
        cohort = pd.concat([cohort, never_referred_rows(extract, cohort, comparison)], ignore_index=True)
    cohort["outcome_label"] = build_labels(extract, cohort, DEFAULT_OUTCOME).to_numpy()
    cohort = cohort[cohort["outcome_label"].notna()].reset_index(drop=True)
    if cohort.empty or not cohort["treated"].any():
        raise ImpactInputError(NO_ROWS)
    return cohort


def never_referred_rows(extract: Extract, referred: pd.DataFrame, comparison) -> pd.DataFrame:
    """Comparison rows for ``--treatment referred``: young people never referred (at any date in the
    extract), ``comparison.per_referral`` draws per referral row, each a random never-referred
    person on a date drawn from the referral rows' dates; rows where the person is outside the
    scoring ages 10-24 on that date are left out. Seeded by ``comparison.seed``."""
    from features.cohort import within_scoring_ages

    ever = set(extract["referrals"]["person_id"].to_numpy(dtype=object))
    people = extract["people"]["person_id"].to_numpy(dtype=object)
    never = people[[pid not in ever for pid in people]]
    if len(never) == 0:
        raise ImpactInputError(NO_NEVER_REFERRED)
    rng = np.random.default_rng(comparison.seed)
    draws = comparison.per_referral * len(referred)
    rows = pd.DataFrame(
        {
            "person_id": pd.Series(rng.choice(never, draws), dtype=object),
            "as_of": pd.Series(rng.choice(referred["as_of"].to_numpy(), draws), dtype="datetime64[ns]"),
            "kind": pd.Series(np.full(draws, "snapshot", dtype=object), dtype=object),
            "treated": np.zeros(draws, dtype=np.int64),
        }
    )
    rows = rows.drop_duplicates(["person_id", "as_of"])
    return within_scoring_ages(extract, rows)[0]


def covariates(extract: Extract, cohort: pd.DataFrame, with_source: bool = True) -> tuple[np.ndarray, list[str]]:
    """Standardised design matrix: features (NaN -> 0 plus a missing flag), source and sex dummies.

    ``with_source=False`` leaves the referral source out (the never-referred have none)."""
    from features.pipeline import FeatureBuilder

    table = FeatureBuilder().transform(extract, cohort)
    columns: dict[str, np.ndarray] = {}
    for name in table.feature_names:
        values = table.X[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            for level in values.cat.categories:
                columns[f"{name}={level}"] = (values == level).to_numpy(dtype=float)
            continue
        values = values.to_numpy(dtype=float)
        missing = np.isnan(values)
        if missing.any():
            columns[f"{name} unknown"] = missing.astype(float)
        columns[name] = np.where(missing, 0.0, values)
    for level in cohort["referral_source"].cat.categories if with_source else ():
        columns[f"referral_source={level}"] = (cohort["referral_source"] == level).to_numpy(dtype=float)
    for level in ("male", "female"):
        columns[f"sex={level}"] = (table.audit["sex"] == level).to_numpy(dtype=float)
    names = [name for name, values in columns.items() if np.std(values) > 0]
    X = np.column_stack([columns[name] for name in names])
    return (X - X.mean(axis=0)) / X.std(axis=0), names


def run_impact(
    extract: Extract,
    config: ImpactConfig,
    programme: str | None = None,
    date_from=None,
    date_to=None,
    treatment: str = "engaged",
) -> ImpactResult:
    """Estimate the effect of ``treatment`` (engaged or referred) on the treated, or raise
    ``ImpactInputError``."""
    import sklearn.linear_model  # noqa: F401  (loaded first, so that its BLAS/OpenMP pools are limited)
    from threadpoolctl import threadpool_limits

    # Hundreds of small fits: BLAS threads cost more in start-up and contention than they save.
    with threadpool_limits(limits=1):
        return _run_impact(extract, config, programme, date_from, date_to, treatment)


def _run_impact(extract, config, programme, date_from, date_to, treatment) -> ImpactResult:
    cohort = evaluation_cohort(extract, programme, date_from, date_to, treatment, config.referred_comparison)
    who, others = TREATMENTS[treatment]
    t = cohort["treated"].to_numpy()
    y = cohort["outcome_label"].to_numpy(dtype=float)
    floor = config.minimum_engaged
    if t.sum() < floor:
        raise ImpactInputError(TOO_FEW_ENGAGED.format(found=int(t.sum()), who=who, floor=floor))
    if (t == 0).sum() < floor:
        raise ImpactInputError(TOO_FEW_COMPARISON.format(found=int((t == 0).sum()), others=others, floor=floor))
    X, names = covariates(extract, cohort, with_source=treatment == "engaged")
    # One number per person: the bootstrap resamples people, and the matching variance sums within them.
    groups = pd.factorize(cohort["person_id"])[0]
    bounds = (config.trimming.lower, config.trimming.upper)

    def no_overlap(dropped: int) -> ImpactInputError:
        return ImpactInputError(
            NO_OVERLAP.format(
                dropped=dropped, engaged=int(t.sum()), who=who, others=others, lower=bounds[0], upper=bounds[1],
                floor=floor,
            )
        )

    try:
        run = estimate(X, t, y, bounds, config.matching.caliper_sd)
    except ValueError:
        raise no_overlap(int(t.sum())) from None
    kept = run.kept
    if (kept & (t == 1)).sum() < floor:
        raise no_overlap(int(t.sum() - (kept & (t == 1)).sum()))
    trimming = _trimming_statement(cohort, t, run.propensity, kept, *bounds, who=who, others=others)
    tk, yk = t[kept], y[kept]
    boot = bootstrap_estimates(
        X, t, y, groups, resamples=config.bootstrap.resamples, seed=config.bootstrap.seed,
        trimming=bounds, caliper_sd=config.matching.caliper_sd, models=run.models,
    )
    from fairness.bootstrap import percentile_interval

    low, high = percentile_interval(boot, config.bootstrap.confidence)
    intervals = {name: (float(low[i]), float(high[i])) for i, name in enumerate(BOOTSTRAPPED)}
    variance = matching_variance(run.match, tk, yk, run.prognostic, groups[kept])
    intervals["prognostic_matching"] = normal_interval(
        run.values["prognostic_matching"], variance, config.bootstrap.confidence
    )
    estimates = {
        name: {"estimate": float(run.values[name]), "low": intervals[name][0], "high": intervals[name][1]}
        for name in ESTIMATORS
    }
    e = run.propensity[kept]
    odds = e[tk == 0] / (1.0 - e[tk == 0])
    balance = pd.DataFrame(
        {
            "covariate": names,
            "smd_before": standardised_mean_differences(X[kept], tk),
            "smd_after_weighting": standardised_mean_differences(X[kept], tk, odds),
        }
    )
    engaged_rate = float(yk[tk == 1].mean())
    sensitivity = _sensitivity(estimates["aipw"], engaged_rate, config.sensitivity.fragile_e_value)
    alpha = 1.0 - config.bootstrap.confidence
    sensitivity["rosenbaum"] = _rosenbaum(rosenbaum_bound(run.match, yk, alpha), alpha)
    population = {
        "treatment": treatment,
        "treated_are": who,
        "comparison_are": others,
        "rows": int(len(t)),
        "people": int(groups.max() + 1),
        "treated": int(t.sum()),
        "comparison": int((t == 0).sum()),
        "treated_after_trimming": int(tk.sum()),
        "comparison_after_trimming": int((tk == 0).sum()),
        "treated_outcome_rate": engaged_rate,
        "matched_treated": int(run.match.matched.sum()),
        "covariates": len(names),
        "programme": programme or "all",
        "from": None if date_from is None else str(pd.Timestamp(date_from).date()),
        "to": None if date_to is None else str(pd.Timestamp(date_to).date()),
        "referred_on_range": [str(cohort["as_of"].min().date()), str(cohort["as_of"].max().date())],
    }
    return ImpactResult(
        population=population,
        trimming=trimming,
        estimates=estimates,
        balance=balance,
        sensitivity=sensitivity,
        pricing=pricing_share(extract, cohort),
        propensity=run.propensity,
        treated=t,
        kept_keys=cohort.loc[kept, ["person_id", "as_of", "treated"]].reset_index(drop=True),
    )


def pricing_share(extract: Extract, cohort: pd.DataFrame) -> dict:
    """The violence-with-injury share of the evaluated young people's episodes in their outcome windows.

    The unit cost is per violence-with-injury offence, and not every episode of recorded serious
    violence is one (robbery, weapon possession), so episodes are priced at this share, as the needs
    assessment does (the same ``extract.episodes.violence_with_injury_share``).
    """
    from extract.episodes import episodes, police_rows, violence_with_injury_share

    found = episodes(extract.tables)[["person_id", "date", "in_ed"]]
    windows = found.merge(cohort[["person_id", "as_of"]], on="person_id")
    horizon = pd.Timedelta(days=DEFAULT_OUTCOME.horizon_days)
    inside = (windows["date"] >= windows["as_of"]) & (windows["date"] < windows["as_of"] + horizon)
    counted = windows.loc[inside].drop_duplicates(["person_id", "date"])
    police = police_rows(extract.tables)
    vwi = police.loc[police["category"] == "violence_with_injury"]
    share = violence_with_injury_share(counted, pd.MultiIndex.from_arrays([vwi["person_id"], vwi["date"]]))
    return {
        "violence_with_injury_share": share,
        "episodes": int(len(counted)),
        "definition": VWI_SHARE_SCOPE,
    }


def _rosenbaum(bound, alpha: float) -> dict:
    """The matched pairs' Rosenbaum bound, as the report states it."""
    if bound.p_value_no_bias > alpha:
        says = (
            f"Among the {bound.discordant} matched pairs in which only one had an episode, the split "
            f"({bound.favouring} in the estimate's direction) is not significant even without hidden bias."
        )
    else:
        says = (
            f"The matched pairs' result stays significant unless an unmeasured factor makes one young "
            f"person of a matched pair more than {bound.gamma:.2f} times as likely (odds) to engage as the other."
        )
    return {
        "method": "Rosenbaum bounds (McNemar's test on the matched pairs; pairs share partners, matching "
        "with replacement)",
        "discordant_pairs": bound.discordant,
        "favouring_pairs": bound.favouring,
        "p_value_no_hidden_bias": bound.p_value_no_bias,
        "alpha": alpha,
        "gamma": bound.gamma,
        "statement": says,
    }


def _trimming_statement(cohort, t, e, kept, lower, upper, who: str, others: str) -> dict:
    dropped = ~kept
    engaged_dropped = dropped & (t == 1)
    sources = cohort.loc[engaged_dropped, "referral_source"].astype(str).value_counts()
    statement = (
        f"{int(dropped.sum())} of {len(t)} rows have a propensity outside "
        f"[{lower}, {upper}] and are left out: {int(engaged_dropped.sum())} {who} people with no "
        f"comparable person {others}, and {int((dropped & (t == 0)).sum())} {others} "
        f"with no comparable {who} person. The estimate is about the {who} people who remain."
    )
    if engaged_dropped.any():
        statement += f" {who.capitalize()} people left out, by referral source: " + ", ".join(
            f"{name} {count}" for name, count in sources.items() if count
        ) + "."
    return {
        "lower": lower,
        "upper": upper,
        "dropped": int(dropped.sum()),
        "dropped_treated": int(engaged_dropped.sum()),
        "dropped_comparison": int((dropped & (t == 0)).sum()),
        "statement": statement,
    }


def _sensitivity(aipw: dict[str, float], engaged_rate: float, fragile_below: float) -> dict:
    """E-values (VanderWeele and Ding 2017) of the AIPW effect as a risk ratio on the engaged.

    The risk ratio is the engaged people's rate over their estimated rate without
    engagement (rate - effect). The interval's bound nearer the null gives the
    E-value that says how strong an unmeasured confounder would have to be (on the
    risk-ratio scale, with both engagement and the outcome) to explain it away.
    """

    def ratio(effect: float) -> float:
        untreated = engaged_rate - effect
        return engaged_rate / untreated if untreated > 0 and engaged_rate > 0 else float("nan")

    low, high = aipw["low"], aipw["high"]
    crosses_null = low <= 0.0 <= high
    nearer = 0.0 if crosses_null else (high if high < 0 else low)
    point_e = e_value(ratio(aipw["estimate"]))
    bound_e = 1.0 if crosses_null else e_value(ratio(nearer))
    fragile = bool(crosses_null or not np.isfinite(bound_e) or bound_e < fragile_below)
    return {
        "method": "E-value (VanderWeele and Ding 2017) on the risk ratio for the engaged",
        "risk_ratio": ratio(aipw["estimate"]),
        "e_value_estimate": point_e,
        "e_value_interval": bound_e,
        "fragile_below": fragile_below,
        "fragile": fragile,
        "statement": (
            "The interval includes no effect, so the data do not rule out zero even with no unmeasured "
            "confounding." if crosses_null else
            f"An unmeasured confounder associated with both engagement and the outcome by a risk ratio of "
            f"{bound_e:.2f} each could move the interval to include no effect."
        )
        + (" The estimate is fragile." if fragile else " The estimate is robust to weaker confounding than that."),
    }
