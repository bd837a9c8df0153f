"""Every parameter of the synthetic generator, with where it comes from.

The values are calibrated to the evidence sheet (shared/evidence.md beside the
project; docs/synthetic-data.md has the calibration table);
``GeneratorParameters.to_dict()`` is written verbatim to ``_truth/parameters.json``
so that an extract documents the model that made it.

Deprivation direction. The contract's ``imd_decile`` has 1 = MOST deprived.
The evidence sheet writes "+0.18 (IMD quintile - 1)" and recording
"(1 + 0.10 (IMD - 1))", which only make sense with a quintile that counts UP
with deprivation (the sheet also says odds are 5.5x higher in the poorest
quintile). The generator therefore uses ``deprivation_quintile`` = 1 (least
deprived, deciles 9-10) .. 5 (most deprived, deciles 1-2), and every
"(quintile - 1)" or "(quintile - 3)" term below uses that scale.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from extract.contract import ACE_TYPES
from extract.synthetic.places import PlaceParameters
from extract.synthetic.seasons import SeasonParameters
from extract.synthetic.weapons import WeaponParameters

RECORDING_BIAS_SCENARIOS = ("none", "default", "strong")
UNKNOWN_SCENARIO = "unknown recording bias {name!r}; use one of: {allowed}"

DEPRIVATION_NOTE = (
    "imd_decile follows the contract (1 = most deprived). Risk and recording use "
    "deprivation_quintile = 5 - (imd_decile - 1) // 2, i.e. 1 = least deprived (deciles 9-10) "
    "to 5 = most deprived (deciles 1-2), so that the evidence sheet's '(IMD quintile - 1)' "
    "terms raise risk and recording with deprivation, as the sheet's 5.5x odds in the "
    "poorest quintile require."
)


@dataclass(frozen=True)
class PopulationParameters:
    """Who is in the synthetic area (people table)."""

    male_share: float = 0.51
    sex_unknown_share: float = 0.002  # recorded sex missing; behaviour follows latent sex
    ethnicity_shares: dict[str, float] = field(
        default_factory=lambda: {  # West Midlands-like, ONS 2021 high-level groups
            "white": 0.70,
            "asian": 0.15,
            "black": 0.06,
            "mixed": 0.045,
            "other": 0.03,
            "unknown": 0.015,
        }
    )
    local_authority_shares: dict[str, float] = field(
        default_factory=lambda: {
            "birmingham": 0.34,
            "coventry": 0.13,
            "wolverhampton": 0.10,
            "sandwell": 0.12,
            "walsall": 0.10,
            "dudley": 0.11,
            "solihull": 0.10,
        }
    )
    imd_latent_correlation_with_z: float = 0.35  # evidence sheet
    imd_missing_share: float = 0.005
    sen_intercept: float = -1.85  # logit; with the terms below gives about 18% SEN
    sen_per_ace: float = 0.12  # evidence sheet
    sen_male: float = 0.5  # evidence sheet
    ehcp_share_of_sen: float = 0.26  # 4.8% of 18.4% (DfE 2024)
    sen_unknown_share: float = 0.01
    oldest_age: int = 25  # birth months span ages 10-24 at some snapshot


@dataclass(frozen=True)
class AdversityParameters:
    """Latent family adversity Z and the ten ACE items (evidence sheet, PHW/Bellis/CDC)."""

    z_loading: float = 2.3  # logit(p_item) = a_item + 2.3 Z
    prevalence: dict[str, float] = field(
        default_factory=lambda: {
            "physical_abuse": 0.15,  # England 14.8%, Wales 17%
            "emotional_abuse": 0.18,  # England verbal abuse 18.2%
            "sexual_abuse": 0.07,  # England 6.3%, Wales 10%
            "physical_neglect": 0.08,  # US only (9.9%); lower in UK sample
            "emotional_neglect": 0.10,  # US only (14.8%)
            "domestic_abuse": 0.16,  # Wales 16%
            "parental_substance_misuse": 0.14,  # Wales alcohol 14% (drug 5% overlaps)
            "parental_mental_illness": 0.14,  # Wales 14%
            "parental_separation": 0.20,  # Wales 20%
            "household_incarceration": 0.05,  # Wales about 5%
        }
    )
    onset_max_age_years: float = 16.0  # onset uniform over birth .. 16th birthday
    recorded_share: dict[str, float] = field(
        default_factory=lambda: {  # share of true ACEs an agency ever records
            "physical_abuse": 0.55,
            "emotional_abuse": 0.40,
            "sexual_abuse": 0.45,
            "physical_neglect": 0.55,
            "emotional_neglect": 0.35,
            "domestic_abuse": 0.60,
            "parental_substance_misuse": 0.40,
            "parental_mental_illness": 0.35,
            "parental_separation": 0.25,
            "household_incarceration": 0.50,
        }
    )
    record_delay_days_max: int = 180
    sources: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "abuse": {"social_care": 0.45, "police": 0.2, "health": 0.15, "school": 0.1, "early_help": 0.1},
            "household": {"early_help": 0.35, "police": 0.25, "social_care": 0.2, "school": 0.1, "health": 0.1},
        }
    )
    # Care episodes follow abuse, neglect and household harm.
    care_triggering_items: tuple[str, ...] = (
        "physical_abuse",
        "emotional_abuse",
        "sexual_abuse",
        "physical_neglect",
        "emotional_neglect",
        "domestic_abuse",
        "parental_substance_misuse",
    )
    care_episode_probability: float = 0.30
    care_episode_shares: dict[str, float] = field(
        default_factory=lambda: {
            "early_help": 0.45,
            "child_in_need": 0.30,
            "child_protection_plan": 0.17,
            "looked_after": 0.08,
        }
    )
    care_episode_mean_days: dict[str, float] = field(
        default_factory=lambda: {
            "early_help": 180.0,
            "child_in_need": 270.0,
            "child_protection_plan": 365.0,
            "looked_after": 900.0,
        }
    )
    care_start_delay_days_max: int = 120


@dataclass(frozen=True)
class SchoolParameters:
    """Attendance, suspensions, exclusions and education status (DfE figures)."""

    # Terms inside an April-March window: summer (Apr), autumn (Sep), spring (Jan).
    term_month_day: tuple[tuple[int, int], ...] = ((4, 20), (9, 3), (1, 6))
    # The last day of each term, in the same calendar year as its start (contract 1.1
    # term_end): every term ends before the next 1 April, so a snapshot sees the window's terms.
    term_end_month_day: tuple[tuple[int, int], ...] = ((7, 22), (12, 19), (3, 27))
    term_sessions: tuple[int, ...] = (118, 144, 118)
    term_sessions_jitter: int = 4  # a few pupils start after the first day
    absence_intercept: float = -3.6  # logit of a term's absence rate
    absence_person_sd: float = 0.65
    absence_term_ar: float = 0.5  # AR(1) of the term-level disengagement process
    absence_term_sd: float = 0.45
    absence_per_ace: float = 0.12
    absence_deprivation: float = 0.10  # x (deprivation_quintile - 3)
    absence_u: float = 0.30  # the unmeasured factor shows in attendance
    absence_recent_ace: float = 0.30  # an ACE onset in the last two years
    absence_secondary_per_year: float = 0.08  # x (age - 11), secondary only
    # Post-pandemic shift by school year (start year); persistent absence 10-13% before
    # 2020 and about 22% in 2022/23 (DfE).
    absence_year_shift: dict[int, float] = field(
        default_factory=lambda: {2019: 0.05, 2020: 0.22, 2021: 0.36, 2022: 0.36, 2023: 0.34, 2024: 0.32}
    )
    persistent_absence_threshold: float = 0.10
    unauthorised_share_base: float = 0.25
    unauthorised_share_slope: float = 2.5  # x absence rate, capped at 0.9
    school_age_first: int = 4  # age on 31 August: reception
    school_age_last: int = 15  # age on 31 August: year 11
    suspension_intercept: float = -6.1  # log rate per window
    suspension_per_ace: float = 0.25
    suspension_deprivation: float = 0.15  # evidence sheet, x (quintile - 3)
    suspension_male: float = 0.8  # evidence sheet
    suspension_secondary: float = 1.3
    suspension_absence: float = 2.5  # x last window's absence rate
    suspension_u: float = 0.45
    suspension_previous: float = 1.3  # any suspension in the last window
    suspension_days_mean_extra: float = 1.0  # days = 1 + Poisson(mean)
    permanent_intercept: float = -6.9  # logit per pupil-window
    permanent_per_suspension: float = 0.9  # x min(suspensions this window, 6)
    alternative_provision_delay_days: int = 14
    school_move_rate: float = 0.04
    school_move_per_ace: float = 0.15  # log-odds per ACE to date
    home_education_rate: float = 0.003
    missing_education_rate: float = 0.002
    missing_education_ace4: float = 1.5
    neet_ages: tuple[int, int] = (16, 18)
    neet_intercept: float = -3.3
    neet_absence: float = 6.0  # x last known absence rate
    neet_ace4: float = 0.6
    neet_deprivation: float = 0.2


@dataclass(frozen=True)
class ContactParameters:
    """Non-qualifying police contacts and health events, per window (ages 10-25).

    Log rates; qualifying categories are written only as recorded involvement.
    """

    ages: tuple[int, int] = (10, 25)
    suspect_intercept: float = -4.1
    suspect_male: float = 1.0
    suspect_age_curvature: float = 0.03  # x (age - 17)^2
    suspect_u: float = 0.55
    suspect_per_ace: float = 0.15
    suspect_deprivation: float = 0.15
    suspect_absence: float = 2.0
    suspect_suspended: float = 0.6
    suspect_prior_true: float = 0.8  # true involvement in the last window
    suspect_categories: dict[str, float] = field(
        default_factory=lambda: {
            "antisocial_behaviour": 0.35,
            "violence_without_injury": 0.2,
            "drugs_possession": 0.2,
            "drugs_supply": 0.07,
            "other": 0.18,
        }
    )
    victim_intercept: float = -4.0
    victim_per_ace: float = 0.2
    victim_u: float = 0.3
    victim_categories: dict[str, float] = field(
        default_factory=lambda: {"violence_without_injury": 0.55, "sexual_offence": 0.12, "other": 0.33}
    )
    missing_intercept: float = -5.6
    missing_per_ace: float = 0.3
    missing_looked_after: float = 1.6
    missing_u: float = 0.4
    exploitation_intercept: float = -7.0
    exploitation_u: float = 1.0
    exploitation_per_ace: float = 0.25
    exploitation_missing: float = 1.0  # missing episode in the last window
    witness_intercept: float = -5.0
    witness_categories: dict[str, float] = field(
        default_factory=lambda: {"violence_with_injury": 0.4, "robbery": 0.1, "violence_without_injury": 0.3, "other": 0.2}
    )
    self_harm_intercept: float = -5.6
    self_harm_female: float = 0.9
    self_harm_per_ace: float = 0.3
    substance_ed_intercept: float = -6.0
    substance_ed_u: float = 0.4
    substance_treatment_intercept: float = -6.8
    substance_treatment_u: float = 0.5
    camhs_intercept: float = -4.2
    camhs_per_ace: float = 0.25
    camhs_female: float = 0.3
    camhs_ages: tuple[int, int] = (10, 18)


@dataclass(frozen=True)
class RiskParameters:
    """True 12-month involvement (victim or perpetrator), logit scale, ages 10-24 at s_k.

    Every term uses only state fixed before the window: dated records before
    s_k, person-level attributes and the latent Z-driven ACEs and U_k.
    """

    intercept: float = -6.55
    male: float = 1.45
    age_centre: float = 17.5
    age_curvature: float = 0.02  # evidence sheet: -0.035 (age - 18)^2
    male_mid_teens: float = 0.25  # interaction: male x age 15-20
    ace_1: float = 0.25
    ace_2_3: float = 0.5
    ace_4_plus: float = 0.85
    ace_recent: float = 0.3  # an ACE onset in the last two years
    deprivation: float = 0.2  # x (deprivation_quintile - 1)
    persistent_absence: float = 0.45  # last window's absence >= 10%
    severe_absence: float = 0.35  # last window's absence >= 20%
    absence_rise: float = 2.5  # x clip(last - previous window's absence, 0, 0.3)
    suspended_12m: float = 0.4
    suspended_12m_3plus: float = 0.3
    permanent_ever: float = 0.45
    alternative_provision_ever: float = 0.3
    police_suspect_12m: float = 0.35
    police_suspect_earlier: float = 0.25  # 12-36 months before
    suspended_and_police_12m: float = 1.0  # interaction
    young_police_12m: float = 0.7  # interaction: police suspect contact at age 10-14 (early onset)
    care_and_missing_12m: float = 0.8  # interaction: looked after and missing or exploited
    exploitation_or_missing_12m: float = 0.6
    looked_after_ever: float = 0.3
    care_recent: float = 0.2  # care episode started in the last two years
    ed_self_harm_or_substance_12m: float = 0.3
    neet_12m: float = 0.4
    sen: float = 0.15
    recorded_previous_window: float = 0.8  # prior recorded serious violence raises risk
    recorded_earlier: float = 0.4
    true_previous_window: float = 0.4  # latent persistence nobody sees
    true_earlier: float = 0.3
    u: float = 0.5  # the unmeasured factor (peers, exploitation) no table shows
    u_autocorrelation: float = 0.8  # U_k = 0.8 U_{k-1} + 0.6 e_k


@dataclass(frozen=True)
class RecordingParameters:
    """Evidence sheet's recording model, scaled so recorded involvement is 0.15-0.3% a year.

    P(record | case) = min(1, case_rate (1 + deprivation_slope (quintile - 1)) d_eth),
    P(record | non-case) = false_rate (1 + deprivation_slope (quintile - 1)) f_eth.
    The sheet's 0.25 and 0.0008 give recorded involvement near 0.45%, above the sheet's
    own 0.15-0.3%; the base rates are lowered to land inside it.
    """

    scenario: str = "default"
    case_rate: float = 0.13
    false_rate: float = 0.0003
    deprivation_slope: float = 0.10
    case_multiplier: dict[str, float] = field(default_factory=lambda: {"black": 2.0})
    false_multiplier: dict[str, float] = field(default_factory=lambda: {"black": 3.0})
    # How a recorded true case appears: police only, police and ED, ED only.
    case_record_kinds: dict[str, float] = field(
        # Most ED-treated violence never reaches police records (evidence sheet, "Place and
        # season"): 35 / (35 + 20) = 64% of ED assault episodes are ED-only.
        default_factory=lambda: {"police": 0.45, "police_and_ed": 0.20, "ed": 0.35}
    )
    victim_share: float = 0.5
    suspect_categories: dict[str, float] = field(
        default_factory=lambda: {"violence_with_injury": 0.5, "robbery": 0.2, "weapon_possession": 0.3}
    )
    victim_categories: dict[str, float] = field(
        default_factory=lambda: {"violence_with_injury": 0.75, "robbery": 0.25}
    )
    false_victim_share: float = 0.4


@dataclass(frozen=True)
class ReferralParameters:
    """Early-help and violence-reduction referrals (optional table).

    At most one referral per person per window; whether it happens, its date
    (uniform over [s_k, s_{k+1})) and its source depend only on the state at s_k,
    so they are independent of the window's involvement given that state.
    """

    intercept: float = -9.5  # logit of a referral in the window
    risk_slope: float = 2.2  # x (risk linear predictor without U - risk intercept)
    source_weights: dict[str, float] = field(
        default_factory=lambda: {
            "school": 1.0,  # x in school; +3 after a suspension
            "police": 0.6,  # +3 after a police contact
            "social_care": 0.5,  # +3 after a recent care episode
            "health": 0.4,  # +2 after an ED self-harm or substance event
            "family": 0.35,
            "community": 0.35,
        }
    )
    source_boost: dict[str, float] = field(
        default_factory=lambda: {"school": 3.0, "police": 3.0, "social_care": 3.0, "health": 2.0}
    )


@dataclass(frozen=True)
class GeneratorParameters:
    """All parameters; ``to_dict`` is what parameters.json records."""

    population: PopulationParameters = field(default_factory=PopulationParameters)
    adversity: AdversityParameters = field(default_factory=AdversityParameters)
    school: SchoolParameters = field(default_factory=SchoolParameters)
    contacts: ContactParameters = field(default_factory=ContactParameters)
    risk: RiskParameters = field(default_factory=RiskParameters)
    recording: RecordingParameters = field(default_factory=RecordingParameters)
    referrals: ReferralParameters = field(default_factory=ReferralParameters)
    places: PlaceParameters = field(default_factory=PlaceParameters)
    seasons: SeasonParameters = field(default_factory=SeasonParameters)
    weapons: WeaponParameters = field(default_factory=WeaponParameters)
    burn_in_windows: int = 3  # simulated years before the first snapshot (history)
    window_days: int = 365
    # Sex and ethnicity shape the records but not the outcome or its recording (protected_blind).
    protected_blind: bool = False

    def to_dict(self) -> dict:
        out = asdict(self)
        out["adversity"]["intercepts"] = dict(
            zip(ACE_TYPES, ace_intercepts(self.adversity).tolist(), strict=True)
        )
        out["deprivation_note"] = DEPRIVATION_NOTE
        return _json_keys(out)


def parameters_for(recording_bias: str = "default") -> GeneratorParameters:
    """The calibrated parameters under one recording-bias scenario.

    ``none``: recording does not vary by ethnicity or deprivation; ``default``: the
    evidence sheet's d_black = 2, f_black = 3 and +10% per deprivation quintile;
    ``strong``: d_black = 3, f_black = 5 and +20% per quintile.
    """
    if recording_bias not in RECORDING_BIAS_SCENARIOS:
        raise ValueError(
            UNKNOWN_SCENARIO.format(name=recording_bias, allowed=", ".join(RECORDING_BIAS_SCENARIOS))
        )
    base = GeneratorParameters()
    if recording_bias == "none":
        recording = replace(
            base.recording, scenario="none", deprivation_slope=0.0, case_multiplier={}, false_multiplier={}
        )
    elif recording_bias == "strong":
        recording = replace(
            base.recording,
            scenario="strong",
            deprivation_slope=0.20,
            case_multiplier={"black": 3.0},
            false_multiplier={"black": 5.0},
        )
    else:
        recording = base.recording
    return replace(base, recording=recording)


def protected_blind(params: GeneratorParameters) -> GeneratorParameters:
    """The same parameters with sex and ethnicity taken out of the outcome and its recording.

    Sex and ethnicity still shape the records (suspensions, police contacts, SEN, self-harm
    are drawn with their sex terms), but the risk has no sex terms and recording no
    ethnicity multipliers. So that prevalence and recording stay near the calibrated
    ones, the risk intercept takes the population average of the male term on the odds
    scale (log(1 - m + m e^b), the rare-outcome approximation) and the base recording
    rates the population average of the multipliers. Then ``recorded_probability_records_only``
    is the generator's own risk on what the records show, with nothing protected in it.
    """
    pp, rp, rec = params.population, params.risk, params.recording
    m = pp.male_share
    shift = math.log(1.0 - m + m * math.exp(rp.male))
    shares = {k: v / sum(pp.ethnicity_shares.values()) for k, v in pp.ethnicity_shares.items()}
    mean_case = sum(share * rec.case_multiplier.get(k, 1.0) for k, share in shares.items())
    mean_false = sum(share * rec.false_multiplier.get(k, 1.0) for k, share in shares.items())
    return replace(
        params,
        risk=replace(rp, intercept=rp.intercept + shift, male=0.0, male_mid_teens=0.0),
        recording=replace(rec, case_rate=rec.case_rate * mean_case, false_rate=rec.false_rate * mean_false,
                          case_multiplier={}, false_multiplier={}),
        protected_blind=True,
    )


def ace_intercepts(params: AdversityParameters) -> np.ndarray:
    """Item intercepts a_i with E[sigmoid(a_i + loading Z)] = prevalence_i, Z ~ N(0, 1).

    Solved by bisection on a Gauss-Hermite quadrature of the expectation.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / math.sqrt(2.0 * math.pi)
    out = np.empty(len(ACE_TYPES))
    for i, item in enumerate(ACE_TYPES):
        target = params.prevalence[item]
        low, high = -20.0, 10.0
        for _ in range(100):
            mid = 0.5 * (low + high)
            value = float(np.sum(weights / (1.0 + np.exp(-(mid + params.z_loading * nodes)))))
            if value < target:
                low = mid
            else:
                high = mid
        out[i] = 0.5 * (low + high)
    return out


def _json_keys(value):
    # JSON object keys must be strings (school-year shifts are keyed by int).
    if isinstance(value, dict):
        return {str(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_keys(v) for v in value]
    return value
