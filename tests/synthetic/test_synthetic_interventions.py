"""The generator's programmes, outcomes, engagement and its truth under both arms (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from extract.synthetic.generator import generate
from extract.synthetic.interventions import InterventionParameters


@pytest.fixture(scope="module")
def synthetic():
    return generate(6000, 11, "2020-04-01", "2025-03-31")


def test_realised_arm_is_the_referral_truth(synthetic):
    referral = synthetic.truth[synthetic.truth["kind"] == "referral"]
    iv = synthetic.interventions.rename(columns={"referred_on": "as_of"})
    merged = referral.merge(iv, on=["person_id", "as_of"], validate="one_to_one")
    assert len(merged) == len(referral) == len(iv)
    engaged = merged["engaged"] == 1
    for kind in ("true", "recorded"):
        realised = np.where(engaged, merged[f"{kind}_probability_engaged"], merged[f"{kind}_probability_not_engaged"])
        np.testing.assert_array_equal(realised, merged[f"{kind}_probability"])
    # The effect lowers risk (odds ratio 0.8), never raises it.
    assert (merged["recorded_probability_engaged"] <= merged["recorded_probability_not_engaged"] + 1e-15).all()


def test_referral_columns_follow_the_rules(synthetic):
    ref = synthetic.frames["referrals"]
    engaged = ref["engaged_on"].notna()
    assert (ref.loc[engaged, "outcome"] == "accepted").all()
    assert (ref.loc[~engaged, "outcome"] != "accepted").all()
    assert (ref.loc[engaged, "engaged_on"] >= ref.loc[engaged, "referred_on"]).all()
    # First engagement before the 1 April after the referral, when the effect starts.
    referred = ref.loc[engaged, "referred_on"]
    next_april = pd.to_datetime((referred.dt.year + (referred.dt.month >= 4)).astype(str) + "-04-01")
    assert (ref.loc[engaged, "engaged_on"] < next_april).all()
    assert set(ref["programme"]) == {"cirv", "early_help"}
    people = synthetic.frames["people"].set_index("person_id")
    age = (ref["referred_on"].dt.year - people.loc[ref["person_id"], "birth_month"].dt.year.to_numpy()) - (
        ref["referred_on"].dt.month < people.loc[ref["person_id"], "birth_month"].dt.month.to_numpy()
    )
    assert (ref.loc[(ref["programme"] == "cirv") & (age < 14), "outcome"] == "not_eligible").all()
    assert {"declined", "signposted", "out_of_area"} <= set(ref["outcome"])


def test_no_effect_means_equal_arms_and_same_tables_as_selection_changes():
    null = generate(3000, 2, "2021-04-01", "2025-03-31", interventions=InterventionParameters(effect_odds_ratio=1.0))
    iv = null.interventions
    np.testing.assert_array_equal(iv["recorded_probability_engaged"], iv["recorded_probability_not_engaged"])
    other = generate(
        3000, 2, "2021-04-01", "2025-03-31",
        interventions=InterventionParameters(effect_odds_ratio=1.0, selection="unobserved"),
    )
    # Engagement draws from its own stream: with no effect, no other table changes.
    for table in ("people", "police_contacts", "health_events", "exclusions"):
        pd.testing.assert_frame_equal(null.frames[table], other.frames[table])


def test_bad_intervention_parameters_are_refused():
    with pytest.raises(ValueError, match="odds ratio"):
        InterventionParameters(effect_odds_ratio=0.0)
    with pytest.raises(ValueError, match="selection"):
        InterventionParameters(selection="random")
