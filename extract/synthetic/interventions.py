"""Programmes, referral outcomes, voluntary engagement and its true effect (issue 17).

The design keeps every truth probability exact (see referral_truth.py):

* A referral in window k gets a programme, an outcome and, when the young person
  takes the offer up, an engagement date before the next window starts, s_{k+1}.
  All of it is drawn from a separate seeded stream (so the main stream, and with
  it every other table, draws the same numbers) and from the state at s_k only.
* Engagement is voluntary. Its odds depend on what the records show exactly (the
  referral's source, the recorded sex, any recorded serious violence before the
  window start and, when ``engage_per_year_over_14`` is set, the whole-year age at
  referral) and, under ``selection="unobserved"``, also on the unmeasured factor U_k
  that raises risk. Every default term lowers the engagement of the young people at
  higher recorded risk, so a naive comparison flatters the programme (evidence.md,
  "Interventions": biased in a known direction).
* The true effect: engagement multiplies the odds of involvement in window k + 1
  (the annual window after the referral's window) by ``effect_odds_ratio``. Window
  k's incident day is drawn at s_k, so the part of the 12-month horizon still in
  window k is unaffected; the effect on the horizon is therefore weaker than the
  odds ratio, and ``InterventionTruth`` gives it exactly for each referral.

Because engagement enters window k + 1 only through a known shift of its linear
predictor, the referral's probability under either arm is
``referral_probabilities`` with window k + 1's probabilities computed from the
linear predictor with that arm's shift: the realised arm is the ``outcomes.csv``
row, the other arm is its counterfactual.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from extract.synthetic.referral_truth import NextWindow, referral_probabilities

SELECTIONS = ("observed", "unobserved")
BAD_SELECTION = "selection must be one of {allowed}, got {value!r}"
BAD_ODDS_RATIO = "the intervention effect is an odds ratio and must be > 0, got {value!r}"
# Another stream than the generator's: the rest of the extract draws the same numbers.
STREAM_KEY = 17
INTERVENTION_TRUTH_COLUMNS = (
    "person_id",
    "referred_on",
    "programme",
    "outcome",
    "engaged",
    "true_probability_engaged",
    "true_probability_not_engaged",
    "recorded_probability_engaged",
    "recorded_probability_not_engaged",
)


@dataclass(frozen=True)
class InterventionParameters:
    """Programmes, outcomes, engagement and the true effect. Illustrative, not calibrated:
    evidence.md ("Interventions") asks for a modest configurable effect (odds ratio 0.8)
    and voluntary engagement that biases naive comparisons in a known direction."""

    effect_odds_ratio: float = 0.8  # on involvement in the window after the referral's window
    selection: str = "observed"  # or "unobserved": engagement also depends on U
    cirv_min_age: int = 14  # CIRV takes ages 14+ in area
    cirv_share_14_plus: float = 0.6  # of referrals aged 14+, share sent to CIRV (else early help)
    cirv_share_under_14: float = 0.08  # referred to CIRV although under 14: not eligible
    out_of_area_share: float = 0.03
    signposted_share: float = 0.07
    pending_days: int = 28  # referrals this close to the extract date are still pending
    engage_intercept: float = 0.6  # logit of engaging when offered
    # Off by default: among referrals the recorded 12-month risk falls with age, so "older young
    # people engage less" made the engaged younger and riskier, cancelling the selection below
    # (the naive contrast leaned towards benefit on 7 of 10 seeds at -0.15, on 10 of 10 at 0).
    engage_per_year_over_14: float = 0.0
    engage_male: float = -0.8  # recorded sex male (people.sex), as boys engage less
    # Recorded serious violence before the window start (police and ED tables): the young
    # people at highest recorded risk engage least, so a naive comparison flatters the programme.
    engage_prior_violence: float = -2.5
    engage_source: dict[str, float] = field(
        default_factory=lambda: {
            "police": -1.5,  # referred after police contact: least likely to engage
            "school": -0.2,
            "social_care": 0.0,
            "health": 0.3,
            "family": 0.8,
            "community": 0.6,
        }
    )
    engage_u: float = -1.0  # x U (selection="unobserved" only): higher unmeasured risk engages less
    engage_delay_days_max: int = 42  # first engagement within six weeks, before s_{k+1}

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ValueError(BAD_SELECTION.format(allowed=", ".join(SELECTIONS), value=self.selection))
        if not (isinstance(self.effect_odds_ratio, (int, float)) and self.effect_odds_ratio > 0):
            raise ValueError(BAD_ODDS_RATIO.format(value=self.effect_odds_ratio))

    @property
    def log_odds_ratio(self) -> float:
        return math.log(self.effect_odds_ratio)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["effect"] = (
            "engagement multiplies the odds of involvement in the annual window after the "
            "referral's window by effect_odds_ratio; the truth per referral is in "
            "_truth/interventions.csv"
        )
        return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def whole_years(birth_day: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whole years from a first-of-month birth day to ``day`` (day numbers since 1970)."""
    birth = birth_day.astype("datetime64[D]")
    on = np.asarray(day, dtype=np.int64).astype("datetime64[D]")
    months = on.astype("datetime64[M]").astype(np.int64) - birth.astype("datetime64[M]").astype(np.int64)
    return months // 12


class InterventionModel:
    """Draws each referral's programme, outcome and engagement, and keeps the truth.

    Parameters
    ----------
    params : InterventionParameters
    seed : int
        The generator's seed; the stream is ``default_rng([seed, STREAM_KEY])``.
    n : int
        Population size.
    extracted_day : int
        Day number of the extract date (records on or after it do not exist yet).
    """

    def __init__(self, params: InterventionParameters, seed: int, n: int, extracted_day: int) -> None:
        self.params = params
        self.rng = np.random.default_rng([int(seed), STREAM_KEY])
        self.n = n
        self.extracted_day = extracted_day
        self._engaged_now = np.zeros(n, dtype=bool)  # engaged after a referral in this window
        self._engaged_last = np.zeros(n, dtype=bool)  # ... in the previous window
        self._rows: list[dict[str, np.ndarray]] = []

    # ---------------------------------------------------------------- window hooks
    def start_window(self) -> np.ndarray:
        """Shift of this window's linear predictor: log OR for people engaged last window."""
        self._engaged_last = self._engaged_now
        self._engaged_now = np.zeros(self.n, dtype=bool)
        return self.params.log_odds_ratio * self._engaged_last

    def engaged_last_window(self, person: np.ndarray) -> np.ndarray:
        return self._engaged_last[person]

    def assign(
        self,
        person: np.ndarray,
        referred_on: np.ndarray,
        source: np.ndarray,
        birth_day: np.ndarray,
        recorded_male: np.ndarray,
        prior_violence: np.ndarray,
        u: np.ndarray,
        next_start: int,
    ) -> dict[str, np.ndarray]:
        """Programme, outcome and engaged_on (day numbers; ``extracted_day`` when never)
        for the referrals of one window, drawn from the state at its start."""
        ip, rng = self.params, self.rng
        m = len(person)
        age = whole_years(birth_day[person], referred_on)
        older = age >= ip.cirv_min_age
        to_cirv = rng.random(m) < np.where(older, ip.cirv_share_14_plus, ip.cirv_share_under_14)
        programme = np.where(to_cirv, "cirv", "early_help").astype(object)
        route = rng.random(m)
        engage_draw = rng.random(m)
        delay = rng.integers(0, ip.engage_delay_days_max + 1, m)
        logit = (
            ip.engage_intercept
            + ip.engage_per_year_over_14 * np.maximum(age - ip.cirv_min_age, 0)
            + np.asarray([ip.engage_source.get(s, 0.0) for s in source])
            + ip.engage_male * recorded_male[person]
            + ip.engage_prior_violence * prior_violence[person]
        )
        if ip.selection == "unobserved":
            logit = logit + ip.engage_u * u[person]
        not_eligible = to_cirv & ~older
        out_of_area = ~not_eligible & (route < ip.out_of_area_share)
        signposted = ~not_eligible & ~out_of_area & (route >= 1.0 - ip.signposted_share)
        offered = ~(not_eligible | out_of_area | signposted)
        engaged = offered & (engage_draw < _sigmoid(logit))
        # First engagement before the next window starts, when the effect begins.
        engaged_on = np.minimum(referred_on + delay, next_start - 1)
        pending = referred_on + ip.pending_days >= self.extracted_day
        engaged &= ~pending | (engaged_on < self.extracted_day)
        outcome = np.select(
            [not_eligible, out_of_area, signposted, engaged, pending],
            ["not_eligible", "out_of_area", "signposted", "accepted", "pending"],
            default="declined",
        ).astype(object)
        self._engaged_now[person[engaged]] = True
        return {
            "programme": programme,
            "outcome": outcome,
            "engaged_on": np.where(engaged, engaged_on, self.extracted_day),
            "engaged": engaged,
        }

    def resolve(
        self,
        person_ids: np.ndarray,
        person: np.ndarray,
        referred_on: np.ndarray,
        programme: np.ndarray,
        outcome: np.ndarray,
        engaged: np.ndarray,
        arm_probabilities: Callable[[float], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Record each referral's true and recorded probability under both arms.

        ``arm_probabilities(shift)`` returns (true, recorded) probabilities of the
        referrals with window k + 1's linear predictor shifted by ``shift`` (0: not
        engaged; log OR: engaged), everything else as realised.
        """
        true_0, recorded_0 = arm_probabilities(0.0)
        true_1, recorded_1 = arm_probabilities(self.params.log_odds_ratio)
        self._rows.append(
            {
                "person_id": person_ids[person],
                "referred_on": referred_on,
                "programme": programme,
                "outcome": outcome,
                "engaged": engaged.astype(np.int64),
                "true_probability_engaged": true_1,
                "true_probability_not_engaged": true_0,
                "recorded_probability_engaged": recorded_1,
                "recorded_probability_not_engaged": recorded_0,
            }
        )

    def truth_frame(self) -> pd.DataFrame:
        """One row per fully observed referral (as in ``outcomes.csv``), by person and date."""
        if not self._rows:
            return pd.DataFrame({name: [] for name in INTERVENTION_TRUTH_COLUMNS})
        cols = {k: np.concatenate([part[k] for part in self._rows]) for k in INTERVENTION_TRUTH_COLUMNS}
        order = np.lexsort((cols["referred_on"], cols["person_id"]))
        frame = pd.DataFrame({k: v[order] for k, v in cols.items()})
        frame["referred_on"] = frame["referred_on"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
        return frame


def arm_probability_function(
    arm_next: Callable[[float], NextWindow],
    p: np.ndarray,
    q: np.ndarray,
    f: np.ndarray,
    seen_before: np.ndarray,
    after_share: np.ndarray,
    next_share: np.ndarray,
) -> Callable[[float], tuple[np.ndarray, np.ndarray]]:
    """``arm_probabilities`` for ``InterventionModel.resolve``: the referral formula with
    window k + 1's probabilities from ``arm_next(shift)``."""

    def arm_probabilities(shift: float) -> tuple[np.ndarray, np.ndarray]:
        return referral_probabilities(p, q, f, seen_before, after_share, next_share, arm_next(shift))

    return arm_probabilities


def true_effect_on_treated(kept_keys: pd.DataFrame, truth: pd.DataFrame) -> float:
    """The impact evaluation's estimand, from the truth: the mean over the engaged rows of
    ``kept_keys`` (person_id, as_of, treated: the rows an evaluation kept after trimming) of
    P(recorded involvement | engaged) - P(... | not engaged) in the 12 months after referral,
    ``truth`` being ``truth_frame()`` (``_truth/interventions.csv``)."""
    truth = truth.rename(columns={"referred_on": "as_of"})
    kept = kept_keys.merge(truth, on=["person_id", "as_of"], how="left", validate="one_to_one")
    engaged = kept[kept["treated"] == 1]
    return float((engaged["recorded_probability_engaged"] - engaged["recorded_probability_not_engaged"]).mean())
