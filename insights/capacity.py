"""Who could be reached within capacity, and what the expected violence costs.

Everything here is an *estimate* from the champion's calibrated probabilities of
recorded serious-violence involvement in the next 12 months (one probability ~ the
expected recorded episodes of that person, since more than one episode a year is
rare). The scores come from ``explanations.scoring``'s batch scoring of the
registered model (never a copy of it); this module only aggregates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from extract.disclosure import protect_table
from extract.episodes import VWI_SHARE_ASSUMPTION, violence_with_injury_share

NO_MODEL = (
    "who and cost: not computed: {reason}. Train and gate a model (`svrisk train`, "
    "`svrisk publish`) or name one with --version/--alias"
)


@dataclass
class CapacityResult:
    by_band: pd.DataFrame
    by_authority: pd.DataFrame
    capacity: pd.DataFrame
    cost: pd.DataFrame
    assumptions: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)


def capacity_tables(
    scores: pd.DataFrame,
    *,
    bands: np.ndarray,
    capacities: list[int],
    eligible: np.ndarray,
    vwi_share: float,
    unit_cost: float,
    intervention_cost: float,
    threshold: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(people and expected episodes by band, by authority, top-k capacity, cost by band).

    ``scores`` has person_id, probability, local_authority; ``bands`` 1..10 per row;
    ``eligible`` the CIRV criteria per row; ``unit_cost`` the uprated GBP per
    violence-with-injury offence.
    """
    p = scores["probability"].to_numpy(dtype=float)
    frame = pd.DataFrame({"band": bands, "p": p, "la": scores["local_authority"].to_numpy(dtype=object)})
    by_band = frame.groupby("band").agg(people=("p", "size"), expected_episodes=("p", "sum")).reindex(
        range(1, 11), fill_value=0
    )
    by_band = by_band.reset_index()
    by_band["expected_vwi_episodes"] = by_band["expected_episodes"] * vwi_share
    by_band["expected_cost_gbp"] = by_band["expected_vwi_episodes"] * unit_cost
    published_band = protect_table(by_band[["band", "people"]], "people", threshold)
    hidden = published_band["people"].isna().to_numpy()[:-1]
    for column in ("expected_episodes", "expected_vwi_episodes", "expected_cost_gbp"):
        values = np.round(by_band[column].to_numpy(dtype=float), 1)
        total = round(float(by_band[column].sum()), 1)
        published_band[column] = list(np.where(hidden, np.nan, values)) + [total]
    by_la = frame.groupby("la").agg(people=("p", "size"), expected_episodes=("p", "sum")).reset_index()
    by_la = by_la.rename(columns={"la": "local_authority"})
    published_la = protect_table(by_la[["local_authority", "people"]], "people", threshold)
    hidden = published_la["people"].isna().to_numpy()[:-1]
    published_la["expected_episodes"] = list(
        np.where(hidden, np.nan, np.round(by_la["expected_episodes"].to_numpy(dtype=float), 1))
    ) + [round(float(by_la["expected_episodes"].sum()), 1)]
    total_expected = float(p.sum())
    order = np.argsort(-p, kind="stable")
    eligible_order = order[eligible[order]]
    rows = []
    for k in capacities:
        top = p[order[:k]].sum()
        top_eligible = p[eligible_order[:k]].sum()
        value = top_eligible * vwi_share * unit_cost
        spend = min(k, len(eligible_order)) * intervention_cost
        rows.append(
            {
                "capacity_k": k,
                "expected_episodes_top_k": round(float(top), 1),
                "share_of_all_expected": round(float(top / total_expected), 3) if total_expected else np.nan,
                "eligible_people": int(min(k, len(eligible_order))),
                "expected_episodes_top_k_eligible": round(float(top_eligible), 1),
                "expected_vwi_cost_top_k_eligible_gbp": round(float(value), 0),
                "intervention_cost_gbp": round(float(spend), 0),
                # The relative reduction in violence with injury that repays the spend.
                "break_even_reduction": round(float(spend / value), 3) if value > 0 else np.nan,
            }
        )
    capacity = pd.DataFrame(rows)
    cost = published_band[["band", "people", "expected_vwi_episodes", "expected_cost_gbp"]]
    return published_band, published_la, capacity, cost


def who_and_cost(
    extract,
    as_of: pd.Timestamp,
    config,
    episodes_in_window: pd.DataFrame,
    *,
    alias: str | None = None,
    version: int | None = None,
) -> CapacityResult | str:
    """Score the snapshot with the registered model and aggregate; a note instead when no
    model can be used (the rest of the report is built regardless)."""
    from mlflow import MlflowClient

    from explanations.scoring import load_risk_model, resolve_model, score_extract
    from extract.contract import age_in_years
    from features.cohort import snapshot_cohort
    from extract.episodes import police_rows
    from registry.tracking import tracking_store
    from serving.risk_bands import RiskBands

    try:
        with tracking_store():
            resolved = resolve_model(MlflowClient(), alias=alias, version=version)
            risk_model = load_risk_model(resolved)
    except ValueError as err:
        return NO_MODEL.format(reason=err)
    cohort = snapshot_cohort(extract, [as_of])
    scores = score_extract(risk_model, extract, cohort, model_version=resolved.version, explain=False)
    people = extract.tables["people"].set_index("person_id")
    scores["local_authority"] = people["local_authority"].reindex(scores["person_id"]).to_numpy(dtype=object)
    age = age_in_years(people["birth_month"].reindex(scores["person_id"]).reset_index(drop=True), as_of)
    covered = config.capacity.local_authorities
    in_area = np.ones(len(scores), dtype=bool) if covered is None else scores["local_authority"].isin(covered).to_numpy()
    eligible = (age.to_numpy() >= config.capacity.cirv_min_age) & in_area
    police = police_rows(extract.tables)
    vwi = police.loc[police["category"] == "violence_with_injury"]
    share = violence_with_injury_share(episodes_in_window, pd.MultiIndex.from_arrays([vwi["person_id"], vwi["date"]]))
    unit_cost = config.cost.unit_cost.uprated_gbp
    bands = RiskBands(risk_model.reference_probabilities_).band(scores["probability"].to_numpy())
    by_band, by_la, capacity, cost = capacity_tables(
        scores, bands=bands, capacities=config.capacity.capacities, eligible=eligible, vwi_share=share,
        unit_cost=unit_cost, intervention_cost=config.cost.intervention_cost_per_head,
        threshold=config.disclosure.suppression_threshold,
    )
    return CapacityResult(
        by_band=by_band, by_authority=by_la, capacity=capacity, cost=cost,
        assumptions={
            "vwi_share": share,
            "vwi_share_definition": VWI_SHARE_ASSUMPTION,
            "unit_cost_uprated": unit_cost,
            "area": "every authority in the extract" if covered is None else ", ".join(covered),
            "bands": "ten bands from the deciles of the model's reference (test-period) probabilities",
        },
        model={"name": resolved.name, "version": resolved.version, "alias": resolved.alias, "notice": resolved.notice},
    )
