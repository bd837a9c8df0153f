"""The synthetic multi-agency extract with known truth.

Design (see parameters.py for every number and its source):

* A fixed population of ``people`` born so that each is 10-24 at some
  snapshot. Person-level: latent sex, ethnicity, deprivation (correlated with
  a latent family adversity Z), ten ACE items drawn from Z with dated onsets,
  SEN, and an unmeasured factor U (peers, exploitation) that evolves yearly
  and that no table shows.
* Time runs in annual windows [s_k, s_k + 365) starting every 1 April, from
  ``burn_in_windows`` years before the first snapshot (so that the first
  snapshot has three years of history) to ``end``. In each window everyone
  aged 10-24 at s_k has a true probability of serious-violence involvement
  p_k that is a function of state fixed before s_k only: records dated before
  s_k (attendance, suspensions, police and health contacts, care episodes,
  education events, prior recorded serious violence), person attributes, the
  latent ACEs and U_k. True involvement I_k ~ Bernoulli(p_k); it is recorded
  with P(record | case) and a non-case gets a false record with
  P(record | non-case) (recording bias scenario). Recorded involvement writes
  qualifying rows, all on one day within the window drawn with the monthly
  seasonality of seasons.py, in one area (places.py) with one weapon
  (weapons.py); nothing else ever writes a qualifying row.
* The window's other records are drawn from the state at s_k too, so they
  are independent of the window's involvement; involvement raises later
  risk only through later windows (prior recorded violence, latent
  persistence, more police contact).

Everything is vectorised over people with one seeded numpy Generator drawn
in a fixed order, so the same seed gives the same frames.

Extending it (contract 1.1's area codes, weapons and referral outcomes are written
empty for now): ``_Rows.add(table, person, **columns)`` takes any of the table's
contract columns, and a nullable column a call does not give is empty for its
rows. The places that write rows: ``_Simulation._people`` (the people frame),
``_write_involvement`` (the qualifying police and ED rows), ``_contacts`` (other
police and health rows), ``_referrals``, and ``_attendance``, ``_exclusions`` and
``_education_status`` (school). A new module that draws from the generator's
numpy Generator changes every later draw, so it should draw after the existing
ones of its window (or from its own seeded Generator) to keep the rest unchanged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from extract.canonical import to_canonical
from extract.contract import ACE_TYPES, COHORT_MAX_AGE, COHORT_MIN_AGE, TABLES
from extract.synthetic.interventions import InterventionModel, InterventionParameters, arm_probability_function
from extract.synthetic.parameters import (
    GeneratorParameters,
    RecordingParameters,
    RiskParameters,
    ace_intercepts,
    parameters_for,
)
from extract.synthetic.needs_truth import needs_truth
from extract.synthetic.parameters import protected_blind as protected_blind_parameters
from extract.synthetic.places import Places
from extract.synthetic.referral_truth import NextWindow, referral_probabilities
from extract.synthetic.seasons import SeasonalCalendar
from extract.synthetic.shares import draw_by_shares
from extract.synthetic.weapons import ed_weapons, police_weapons

BAD_PEOPLE = "people must be a positive whole number, got {value!r}"
BAD_RANGE = "start ({start}) must be before end ({end})"
NO_SNAPSHOT = (
    "no 1 April snapshot in [{start}, {end}] has its whole 365-day window before the "
    "extract date {extracted_on}; widen the range"
)
TRUTH_COLUMNS = (
    "person_id",
    "as_of",
    "kind",
    "true_probability",
    "true_outcome",
    "recorded_probability",
    "recorded_outcome",
)
# Reference probabilities for the recorded outcome with parts no table shows averaged out
# (``generate(..., oracle_columns=True)``; see ``probability_without_u``).
ORACLE_COLUMNS = (
    "recorded_probability_without_u",
    "recorded_probability_without_u_ethnicity",
    "recorded_probability_records_only",
)
# Gauss-Hermite nodes per dimension: sigmoid(lp + 0.5 U) is smooth in U, and 12 nodes
# agree with 60 to about 1e-12 relative (tests/synthetic/test_synthetic_oracle.py).
ORACLE_NODES = 12
_EPOCH = np.datetime64("1970-01-01", "D")
_ABUSE_ITEMS = frozenset(
    {"physical_abuse", "emotional_abuse", "sexual_abuse", "physical_neglect", "emotional_neglect"}
)


@dataclass
class SyntheticExtract:
    """A generated extract and what only the generator knows.

    Attributes
    ----------
    frames : dict of str to DataFrame
        Every contract table (referrals included) in canonical dtypes.
    truth : DataFrame
        One row per snapshot (person aged 10-24 on a 1 April whose window is
        fully observed) and per fully observed referral: person_id, as_of,
        kind, true_probability, true_outcome, recorded_probability,
        recorded_outcome; with ``oracle_columns=True`` also ``ORACLE_COLUMNS``.
    parameters : dict
        JSON-able: every parameter, the seed and the run settings.
    latent : DataFrame
        One row per person: latent sex, Z, lifetime ACE items and count,
        deprivation quintile (1 least .. 5 most deprived). Not part of any
        extract; used by the calibration tests.
    extracted_on : Timestamp
        ``end`` + 1 day.
    interventions : DataFrame
        One row per fully observed referral: programme, outcome, the realised arm
        and the probabilities under both arms (``INTERVENTION_TRUTH_COLUMNS``).
    """

    frames: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    parameters: dict
    latent: pd.DataFrame
    extracted_on: pd.Timestamp
    # Place, season and ED-only truth for the needs assessment (extract/synthetic/needs_truth.py).
    needs_truth: dict = field(default_factory=dict)
    areas: pd.DataFrame | None = None
    interventions: pd.DataFrame | None = None


def _day(ts: pd.Timestamp) -> int:
    return int((np.datetime64(ts.date(), "D") - _EPOCH).astype(np.int64))


def _days_of(year: np.ndarray | int, month: np.ndarray | int) -> np.ndarray:
    """Day numbers of the first of (year, month), vectorised."""
    months = (np.asarray(year, dtype=np.int64) - 1970) * 12 + (np.asarray(month, dtype=np.int64) - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _date_day(year: int, month: int, day: int) -> int:
    return int(_days_of(year, month)) + day - 1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with sum(w g(x)) = E[g(X)], X ~ N(0, 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, w / math.sqrt(2.0 * math.pi)


def probability_without_u(
    lp_without_u: np.ndarray, u_coefficient: float, nodes: int = ORACLE_NODES
) -> np.ndarray:
    """E[sigmoid(lp + c U)] over U ~ N(0, 1), U's marginal in every window.

    The generator starts U at N(0, 1) and advances it as rho U + sqrt(1 - rho^2) e,
    so U is N(0, 1) in every window. This averages U over that marginal, not over
    its posterior given a person's records: records that load on U (absence,
    suspensions, police contacts) still carry information about it.
    """
    x, w = _gauss_hermite(nodes)
    lp = np.asarray(lp_without_u, dtype=float)
    out = np.zeros(lp.shape)
    for xi, wi in zip(x, w, strict=True):
        out += wi * _sigmoid(lp + u_coefficient * xi)
    return out


def _recording_rates(
    rp: RecordingParameters,
    quintile: np.ndarray,
    case_mult: np.ndarray | float,
    false_mult: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """P(record | case) and P(record | non-case) for deprivation quintiles and ethnicity multipliers."""
    slope = rp.deprivation_slope * (quintile - 1)
    q = np.minimum(1.0, rp.case_rate * (1.0 + slope) * case_mult)
    f = np.minimum(1.0, rp.false_rate * (1.0 + slope) * false_mult)
    return q, f


def _ethnicity_groups(shares: dict[str, float], rp: RecordingParameters) -> list[tuple[float, float, float]]:
    """(population share, case multiplier, false-record multiplier), one per distinct multiplier pair.

    Ethnicity is drawn independently of everything else a person has, so these shares
    are the exact prior for averaging the recording rates over it.
    """
    total = sum(shares.values())
    groups: dict[tuple[float, float], float] = defaultdict(float)
    for name, share in shares.items():
        groups[(rp.case_multiplier.get(name, 1.0), rp.false_multiplier.get(name, 1.0))] += share / total
    return [(share, d, f) for (d, f), share in groups.items()]


def _ace_terms(rp: RiskParameters, count: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """The risk model's ACE terms (as in ``_Simulation._linear_predictor``) for given counts."""
    return (
        rp.ace_1 * (count == 1)
        + rp.ace_2_3 * ((count >= 2) & (count <= 3))
        + rp.ace_4_plus * (count >= 4)
        + rp.ace_recent * recent
    )


def _next_window_probabilities(
    rp: RiskParameters, base: np.ndarray, in_cohort: np.ndarray, q: np.ndarray, f: np.ndarray
) -> NextWindow:
    """Window k + 1 true and recorded probabilities for each (I_k, E_k), given its other terms."""
    f = np.where(in_cohort, f, 0.0)
    true, rec = {}, {}
    for i in (0, 1):
        for e in (0, 1):
            lp = base + rp.recorded_previous_window * e + rp.true_previous_window * i
            p = np.where(in_cohort, _sigmoid(lp), 0.0)
            true[(i, e)] = p
            rec[(i, e)] = p * q + (1.0 - p) * f
    return NextWindow(true=true, recorded=rec)


def _no_next_window(n: int) -> NextWindow:
    """Window k + 1 probabilities when no later window is simulated (all zero)."""
    zero = np.zeros(n)
    return NextWindow(
        true={(i, e): zero for i in (0, 1) for e in (0, 1)},
        recorded={(i, e): zero for i in (0, 1) for e in (0, 1)},
    )


def referral_recorded_without_u(
    rp: RiskParameters,
    lp_without_u: np.ndarray,
    next_base_without_u: np.ndarray | None,
    next_in_cohort: np.ndarray | None,
    q: np.ndarray,
    f: np.ndarray,
    seen_before: np.ndarray,
    after_share: np.ndarray,
    next_share: np.ndarray,
    nodes: int = ORACLE_NODES,
) -> np.ndarray:
    """A referral row's recorded probability averaged over (U_k, U_{k+1}).

    The referral horizon straddles windows k and k + 1, whose U are jointly normal
    (U_{k+1} = rho U_k + sqrt(1 - rho^2) e); a product Gauss-Hermite rule over (U_k, e)
    averages ``referral_probabilities`` exactly as the snapshot rows average over U_k.
    ``next_base_without_u`` is window k + 1's linear predictor without U and without
    the (I_k, E_k) terms, or None when no later window is simulated.
    """
    x, w = _gauss_hermite(nodes)
    rho = rp.u_autocorrelation
    innovation = math.sqrt(1.0 - rho * rho)
    if next_base_without_u is None:
        # Nothing of window k + 1 is in the horizon: one dimension suffices.
        ys, wys = np.zeros(1), np.ones(1)
    else:
        ys, wys = x, w
    out = np.zeros(len(lp_without_u))
    for xi, wi in zip(x, w, strict=True):
        p = _sigmoid(lp_without_u + rp.u * xi)
        for yj, wj in zip(ys, wys, strict=True):
            if next_base_without_u is None:
                nxt = _no_next_window(len(lp_without_u))
            else:
                u_next = rho * xi + innovation * yj
                base = next_base_without_u + rp.u * u_next
                nxt = _next_window_probabilities(rp, base, next_in_cohort, q, f)
            _, recorded = referral_probabilities(p, q, f, seen_before, after_share, next_share, nxt)
            out += wi * wj * recorded
    return out


def _no_august(days: np.ndarray) -> np.ndarray:
    """Move school events that fall in the August holiday into September of the same window."""
    month = (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    return np.where(month == 8, days + 31, days)


class _Rows:
    """Column arrays of every table, appended window by window.

    Each :meth:`add` call gives some rows of one table: their person indices and any of
    the table's contract columns. A nullable column that a call does not give is empty
    for its rows, so a later module can fill a column for the rows it writes
    (``area_code=...``, ``weapon=...``) without touching the others.
    """

    def __init__(self) -> None:
        self._parts: dict[str, list[tuple[np.ndarray, dict[str, np.ndarray]]]] = defaultdict(list)

    def add(self, table: str, person: np.ndarray, **columns: np.ndarray) -> None:
        unknown = set(columns) - set(TABLES[table].column_names)
        if unknown:
            raise KeyError(f"not columns of {table}: {sorted(unknown)}")
        self._parts[table].append(
            (np.asarray(person, dtype=np.int32), {name: np.asarray(v) for name, v in columns.items()})
        )

    def _column(self, parts: list[tuple[np.ndarray, dict[str, np.ndarray]]], col) -> np.ndarray:
        """One column over every part; a part without it is empty there (nullable columns only)."""
        given = [values[col.name] for _, values in parts if col.name in values]
        if len(given) == len(parts):
            return np.concatenate(given) if given else np.empty(0)
        if not col.nullable:
            raise KeyError(f"{col.name} is required and missing from some rows")
        if col.kind == "date":
            empty, dtype = np.iinfo(np.int64).max, np.int64  # the open-ended sentinel: NaT
        elif col.kind in ("int", "number"):
            empty, dtype = np.nan, np.float64
        else:
            empty, dtype = None, object
        return np.concatenate([
            values[col.name].astype(dtype) if col.name in values else np.full(len(person), empty, dtype=dtype)
            for person, values in parts
        ])

    def frame(self, table: str, person_ids: np.ndarray, extracted_day: int) -> pd.DataFrame:
        spec = TABLES[table]
        # Pop the parts so that each table's pieces are freed once it is built (peak memory).
        parts = self._parts.pop(table, [])
        person = np.concatenate([p for p, _ in parts]) if parts else np.empty(0, dtype=np.int32)
        cols = {col.name: self._column(parts, col) for col in spec.columns[1:]}
        date_col = spec.date_column
        # A row is in the extract once every date it must carry is known by extraction
        # (an attendance term only once it has ended).
        keep = np.ones(len(person), dtype=bool)
        for col in spec.columns[1:]:
            if col.kind == "date" and not col.nullable:
                keep &= cols[col.name] < extracted_day
        order = np.lexsort((cols[date_col][keep], person[keep]))
        # Explicit object Series: pandas would otherwise infer its str dtype, only for
        # to_canonical to convert back.
        data: dict[str, object] = {"person_id": pd.Series(person_ids[person[keep][order]], dtype=object)}
        for col in spec.columns[1:]:
            values = cols[col.name][keep][order]
            if values.dtype == object:
                values = pd.Series(values, dtype=object)
            if col.kind == "date":
                # NaT is stored as any day on or after extraction (open care episodes).
                known = values < extracted_day
                dates = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
                dates[known] = values[known].astype("datetime64[D]").astype("datetime64[ns]")
                values = dates
            data[col.name] = values
        return to_canonical(table, pd.DataFrame(data))


def _snapshot_years(start: pd.Timestamp, end: pd.Timestamp, window_days: int) -> list[int]:
    extracted_day = _day(end) + 1
    first = start.year if (start.month, start.day) <= (4, 1) else start.year + 1
    return [
        year
        for year in range(first, end.year + 1)
        if _date_day(year, 4, 1) + window_days <= extracted_day
    ]


def generate(
    people: int,
    seed: int,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    recording_bias: str = "default",
    parameters: GeneratorParameters | None = None,
    oracle_columns: bool = False,
    interventions: InterventionParameters | None = None,
    protected_blind: bool = False,
    person_numbers: tuple[int, int] | None = None,
) -> SyntheticExtract:
    """Generate a synthetic extract with known truth.

    Parameters
    ----------
    people : int
        Population size (everyone born so as to be 10-24 at some snapshot).
    seed : int
        Seed of the single numpy Generator; same seed, same frames.
    start, end : date-like
        Snapshots are every 1 April in [start, end] whose 365-day window ends
        on or before ``end`` + 1 day (the extract date). Records run from
        ``burn_in_windows`` years before the first snapshot to ``end``.
    recording_bias : {"none", "default", "strong"}
        Recording scenario (see ``parameters_for``).
    parameters : GeneratorParameters, optional
        Overrides the calibrated parameters (``recording_bias`` is then ignored).
    protected_blind : bool, default False
        Sex and ethnicity shape the records but do not enter the outcome or its
        recording (``parameters.protected_blind``): the risk has no sex terms and
        recording no ethnicity multipliers, rebalanced to keep prevalence and recording
        near the calibrated ones. A model that never sees sex or ethnicity is then
        measured against ``recorded_probability_records_only``, which uses neither.
    oracle_columns : bool, default False
        Add ``ORACLE_COLUMNS`` to ``truth`` (snapshot and referral rows), references
        for the recorded outcome with what no table shows taken out:

        * ``recorded_probability_without_u``: the unmeasured factor U averaged over
          its N(0, 1) marginal (Gauss-Hermite; for referrals jointly over U_k and
          U_{k+1});
        * ``recorded_probability_without_u_ethnicity``: also the ethnicity recording
          multipliers averaged over the population's ethnicity shares (ethnicity is
          protected and never a model input);
        * ``recorded_probability_records_only``: also the true (unrecorded) earlier
          involvement terms dropped and the true ACE terms replaced by the same terms
          on the ACEs the adversity table shows. A plug-in, not an average: a function
          of the records (and the generator's coefficients) only, except that latent
          sex, SEN and deprivation stand in where the record says unknown (under 2%
          of people), so its AUC is a floor for what a model could reach with
          unlimited training data, not a ceiling.

        They draw no random numbers: every other column and every table is the same
        with or without them.
    interventions : InterventionParameters, optional
        Programmes, referral outcomes, engagement and its true effect (default
        ``InterventionParameters()``: odds ratio 0.8, selection on observed factors).
    person_numbers : (int, int), optional
        ``(first, population)``: number this run's people ``first, first + 1, ...``, with ids
        as wide as a population of ``population`` needs. A chunk of a larger population
        (``extract.synthetic.partitioned``) so that chunks never share an id; default
        ``(1, people)``.
    """
    if isinstance(people, bool) or not isinstance(people, (int, np.integer)) or people < 1:
        raise ValueError(BAD_PEOPLE.format(value=people))
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start >= end:
        raise ValueError(BAD_RANGE.format(start=start.date(), end=end.date()))
    params = parameters if parameters is not None else parameters_for(recording_bias)
    if protected_blind and not params.protected_blind:
        params = protected_blind_parameters(params)
    extracted_on = end + pd.Timedelta(days=1)
    years = _snapshot_years(start, end, params.window_days)
    if not years:
        raise ValueError(
            NO_SNAPSHOT.format(start=start.date(), end=end.date(), extracted_on=extracted_on.date())
        )
    intervention_params = interventions if interventions is not None else InterventionParameters()
    sim = _Simulation(
        int(people), int(seed), params, years, _day(extracted_on), oracle=oracle_columns,
        interventions=intervention_params, person_numbers=person_numbers,
    )
    sim.run(last_year=end.year if (end.month, end.day) >= (4, 1) else end.year - 1)
    record = params.to_dict()
    record["interventions"] = intervention_params.to_dict()
    record["run"] = {
        "people": int(people),
        "seed": int(seed),
        "start": str(start.date()),
        "end": str(end.date()),
        "extracted_on": str(extracted_on.date()),
        "recording_bias": params.recording.scenario,
        "protected_blind": params.protected_blind,
        "snapshot_dates": [f"{y}-04-01" for y in years],
        "window": "[as_of, as_of + 365 days); annual windows never overlap",
        "referral_truth": (
            "Referral rows only when [referred_on, referred_on + 365) ends on or before "
            "extracted_on. Exact given: the state at the window start, the referral date, "
            "whether the window's recorded involvement showed before the referral, and the "
            "next window's state other than this window's outcome (the four possible outcomes "
            "are mixed exactly). See extract/synthetic/referral_truth.py."
        ),
    }
    return SyntheticExtract(
        frames=sim.frames(),
        truth=sim.truth_frame(),
        parameters=record,
        latent=sim.latent_frame(),
        extracted_on=extracted_on,
        needs_truth=needs_truth(sim.places, sim.season, params),
        areas=sim.places.areas_frame(),
        interventions=sim.interventions.truth_frame(),
    )


@dataclass
class _Pending:
    """Referrals of the previous window waiting for the next window's probabilities."""

    person: np.ndarray
    day: np.ndarray
    p: np.ndarray
    q: np.ndarray
    f: np.ndarray
    seen_before: np.ndarray
    after_share: np.ndarray
    next_start: int
    true_k: np.ndarray  # true incident on/after r in window k
    recorded_k: np.ndarray  # recorded incident on/after r in window k
    i_k: np.ndarray
    e_k: np.ndarray
    # Oracle only: window k's full linear predictor less U, and its records-only version.
    lp_without_u: np.ndarray | None = None
    lp_records_only: np.ndarray | None = None
    # Programme, outcome and realised arm of each referral (extract/synthetic/interventions.py).
    programme: np.ndarray | None = None
    outcome: np.ndarray | None = None
    engaged: np.ndarray | None = None


@dataclass
class _OracleNext:
    """Window k + 1 for last window's referrals, oracle columns only: the linear predictor
    less U and less the (I_k, E_k) terms, its records-only version, and the cohort flag."""

    base_without_u: np.ndarray
    base_records_only: np.ndarray
    in_cohort: np.ndarray


@dataclass
class _Truth:
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)


class _Simulation:
    """State and records of one generation run (internal)."""

    def __init__(
        self,
        n: int,
        seed: int,
        params: GeneratorParameters,
        years: list[int],
        extracted_day: int,
        oracle: bool = False,
        interventions: InterventionParameters | None = None,
        person_numbers: tuple[int, int] | None = None,
    ) -> None:
        self.n = n
        self.oracle = oracle
        self.rng = np.random.default_rng(seed)
        self.params = params
        self.snapshot_years = set(years)
        self.first_year = years[0]
        self.extracted_day = extracted_day
        self.rows = _Rows()
        self.truth = _Truth()
        self.places = Places(params.places, seed)
        self.season = SeasonalCalendar(params.seasons, params.window_days)
        self.interventions = InterventionModel(
            interventions if interventions is not None else InterventionParameters(), seed, n, extracted_day
        )
        first, population = person_numbers if person_numbers is not None else (1, n)
        width = max(7, len(str(population)))
        self.person_ids = np.asarray(np.char.mod(f"p%0{width}d", np.arange(first, first + n)), dtype=object)
        self._people(years)
        self._adversity()

    # ------------------------------------------------------------------ people
    def _people(self, years: list[int]) -> None:
        rng, pp, n = self.rng, self.params.population, self.n
        self.male = rng.random(n) < pp.male_share
        sex = np.where(self.male, "male", "female").astype(object)
        sex[rng.random(n) < pp.sex_unknown_share] = "unknown"
        self.recorded_male = sex == "male"
        # Birth months: aged 24 on the first snapshot down to 10 on the last.
        lo = (years[0] - pp.oldest_age - 1970) * 12 + 4  # May, 25 years before
        hi = (years[-1] - COHORT_MIN_AGE - 1970) * 12 + 3  # April, 10 years before
        month_index = rng.integers(lo, hi + 1, n)
        self.birth_year = 1970 + month_index // 12
        self.birth_month = month_index % 12 + 1
        self.birth_day = _days_of(self.birth_year, self.birth_month)
        self.ethnicity = draw_by_shares(rng, pp.ethnicity_shares, n)
        self.z = rng.standard_normal(n)
        r = pp.imd_latent_correlation_with_z
        deprivation = r * self.z + np.sqrt(1.0 - r * r) * rng.standard_normal(n)
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(-deprivation, kind="stable")] = np.arange(n)
        self.imd_decile = 1 + rank * 10 // n  # 1 = most deprived
        self.quintile = 5 - (self.imd_decile - 1) // 2  # 1 = least .. 5 = most deprived
        imd = self.imd_decile.astype(float)
        imd[rng.random(n) < pp.imd_missing_share] = np.nan
        la = draw_by_shares(rng, pp.local_authority_shares, n)
        area_code = self.places.assign(la, self.imd_decile)
        # ACE items with onsets between birth and the 16th birthday.
        ap = self.params.adversity
        item_p = _sigmoid(ace_intercepts(ap)[None, :] + ap.z_loading * self.z[:, None])
        self.ace_has = rng.random((n, len(ACE_TYPES))) < item_p
        onset = self.birth_day[:, None] + np.floor(
            rng.random((n, len(ACE_TYPES))) * ap.onset_max_age_years * 365.25
        ).astype(np.int64)
        self.ace_onset = np.where(self.ace_has, onset, np.iinfo(np.int64).max)
        self.ace_count = self.ace_has.sum(axis=1)
        sen_p = _sigmoid(pp.sen_intercept + pp.sen_per_ace * self.ace_count + pp.sen_male * self.male)
        self.sen = rng.random(n) < sen_p
        ehcp = self.sen & (rng.random(n) < pp.ehcp_share_of_sen)
        sen = np.where(ehcp, "ehcp", np.where(self.sen, "sen_support", "none")).astype(object)
        sen[rng.random(n) < pp.sen_unknown_share] = "unknown"
        self.people = pd.DataFrame(
            {
                "person_id": self.person_ids,
                "birth_month": self.birth_day.astype("datetime64[D]").astype("datetime64[ns]"),
                "sex": sex,
                "ethnicity": self.ethnicity,
                "imd_decile": imd,
                "sen": sen,
                "local_authority": la,
                "area_code": area_code,
            }
        )
        self.q, self.f = self._person_recording_rates(self.ethnicity)

    def _person_recording_rates(self, ethnicity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each person's P(record | case) and P(record | non-case) at their deprivation, were
        their ethnicity ``ethnicity`` (the recording-bias multipliers by group)."""
        rp = self.params.recording
        d = np.ones(self.n)
        f = np.ones(self.n)
        for group, mult in rp.case_multiplier.items():
            d[ethnicity == group] = mult
        for group, mult in rp.false_multiplier.items():
            f[ethnicity == group] = mult
        return _recording_rates(rp, self.quintile, d, f)

    def _adversity(self) -> None:
        rng, ap, n = self.rng, self.params.adversity, self.n
        person, item = np.nonzero(self.ace_has)
        onset = self.ace_onset[person, item]
        items = np.asarray(ACE_TYPES, dtype=object)[item]
        share = np.asarray([ap.recorded_share[t] for t in ACE_TYPES])[item]
        recorded = rng.random(len(person)) < share
        delay = rng.integers(0, ap.record_delay_days_max + 1, len(person))
        abuse = np.isin(items, list(_ABUSE_ITEMS))
        source = np.where(
            abuse,
            draw_by_shares(rng, ap.sources["abuse"], len(person)),
            draw_by_shares(rng, ap.sources["household"], len(person)),
        )
        self.rows.add(
            "adversity",
            person[recorded],
            recorded_on=(onset + delay)[recorded],
            ace_type=items[recorded],
            source=source[recorded],
        )
        if self.oracle:
            # What the adversity table shows, for the records-only reference.
            self.ace_record_person = person[recorded]
            self.ace_record_on = (onset + delay)[recorded]
        # Care episodes follow abuse, neglect and household harm, before the 18th birthday.
        triggers = np.isin(items, list(ap.care_triggering_items))
        episode = triggers & (rng.random(len(person)) < ap.care_episode_probability)
        kind = draw_by_shares(rng, ap.care_episode_shares, len(person))
        starts = onset + rng.integers(0, ap.care_start_delay_days_max + 1, len(person))
        adult = self.birth_day[person] + int(18 * 365.25)
        episode &= starts < adult
        mean = np.asarray([ap.care_episode_mean_days[k] for k in kind])
        length = 30 + np.floor(rng.exponential(1.0, len(person)) * mean).astype(np.int64)
        ends = np.minimum(starts + length, adult)
        ends = np.where(kind == "looked_after", ends, starts + length)
        ends = np.maximum(ends, starts)
        self.rows.add(
            "care_episodes",
            person[episode],
            start_on=starts[episode],
            end_on=ends[episode],  # on/after extracted_on becomes an open episode
            episode=kind[episode],
        )
        self.care_person = person[episode]
        self.care_start = starts[episode]
        lac = episode & (kind == "looked_after")
        self.lac_first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(self.lac_first, person[lac], starts[lac])

    # ------------------------------------------------------------------ windows
    def run(self, last_year: int) -> None:
        rng, n, params = self.rng, self.n, self.params
        self.U = rng.standard_normal(n)
        self.absence_person = rng.normal(0.0, params.school.absence_person_sd, n)
        self.D = np.zeros(n)
        nan = np.full(n, np.nan)
        self.abs_last, self.abs_prev, self.abs_known = nan.copy(), nan.copy(), nan.copy()
        self.susp_prev = np.zeros(n, dtype=np.int64)
        self.pex_ever = np.zeros(n, dtype=bool)
        self.ap_ever = np.zeros(n, dtype=bool)
        self.police_prev = np.zeros(n, dtype=np.int64)
        self.police_prev2 = np.zeros(n, dtype=np.int64)
        self.police_prev3 = np.zeros(n, dtype=np.int64)
        self.exploit_prev = np.zeros(n, dtype=bool)
        self.missing_prev = np.zeros(n, dtype=bool)
        self.health_prev = np.zeros(n, dtype=bool)
        self.neet_prev = np.zeros(n, dtype=bool)
        self.e_prev = np.zeros(n, dtype=bool)
        self.e_earlier = np.zeros(n, dtype=bool)
        self.i_prev = np.zeros(n, dtype=bool)
        self.i_earlier = np.zeros(n, dtype=bool)
        pending: _Pending | None = None
        first = self.first_year - params.burn_in_windows
        for year in range(first, last_year + 1):
            pending = self._window(year, year > first, pending)
        if pending is not None:
            self._resolve(pending, None)

    def _linear_predictor(self, s: int, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Risk linear predictor at s, U included but without the previous window's outcome
        terms (I_{k-1}, E_{k-1}), and the U part on its own."""
        rp = self.params.risk
        ace = (self.ace_onset < s).sum(axis=1)
        recent_ace = ((self.ace_onset < s) & (self.ace_onset >= s - 730)).any(axis=1)
        care_recent = np.zeros(self.n, dtype=bool)
        recent = (self.care_start < s) & (self.care_start >= s - 730)
        care_recent[self.care_person[recent]] = True
        a_last = np.nan_to_num(self.abs_last, nan=0.0)
        a_prev = np.where(np.isnan(self.abs_prev), a_last, self.abs_prev)
        susp = self.susp_prev
        police = self.police_prev
        lp = (
            rp.intercept
            + rp.male * self.male
            - rp.age_curvature * (age - rp.age_centre) ** 2
            + rp.male_mid_teens * (self.male & (age >= 15) & (age <= 20))
            + rp.ace_1 * (ace == 1)
            + rp.ace_2_3 * ((ace >= 2) & (ace <= 3))
            + rp.ace_4_plus * (ace >= 4)
            + rp.ace_recent * recent_ace
            + rp.deprivation * (self.quintile - 1)
            + rp.persistent_absence * (a_last >= self.params.school.persistent_absence_threshold)
            + rp.severe_absence * (a_last >= 0.2)
            + rp.absence_rise * np.clip(a_last - a_prev, 0.0, 0.3)
            + rp.suspended_12m * (susp >= 1)
            + rp.suspended_12m_3plus * (susp >= 3)
            + rp.permanent_ever * self.pex_ever
            + rp.alternative_provision_ever * self.ap_ever
            + rp.police_suspect_12m * (police >= 1)
            + rp.police_suspect_earlier * ((self.police_prev2 + self.police_prev3) >= 1)
            + rp.suspended_and_police_12m * ((susp >= 1) & (police >= 1))
            + rp.young_police_12m * ((police >= 1) & (age <= 14))
            + rp.care_and_missing_12m * ((self.lac_first < s) & (self.exploit_prev | self.missing_prev))
            + rp.exploitation_or_missing_12m * (self.exploit_prev | self.missing_prev)
            + rp.looked_after_ever * (self.lac_first < s)
            + rp.care_recent * care_recent
            + rp.ed_self_harm_or_substance_12m * self.health_prev
            + rp.neet_12m * self.neet_prev
            + rp.sen * self.sen
            + rp.recorded_earlier * self.e_earlier
            + rp.true_earlier * self.i_earlier
        )
        self._ace_now = ace
        self._recent_ace = recent_ace
        self._care_recent = care_recent
        return lp + rp.u * self.U, rp.u * self.U

    def _window(self, year: int, advance_u: bool, pending: _Pending | None) -> _Pending | None:
        rng, n, params = self.rng, self.n, self.params
        rp = params.risk
        s = _date_day(year, 4, 1)
        s_next = _date_day(year + 1, 4, 1)
        length = params.window_days
        if advance_u:
            rho = rp.u_autocorrelation
            self.U = rho * self.U + np.sqrt(1.0 - rho * rho) * rng.standard_normal(n)
        age = year - self.birth_year - (4 < self.birth_month)
        cohort = (age >= COHORT_MIN_AGE) & (age <= COHORT_MAX_AGE)
        base, u_part = self._linear_predictor(s, age)
        # Engagement after last window's referral shifts this window's odds (the true effect).
        engaged_shift = self.interventions.start_window()
        base = base + engaged_shift
        if self.oracle:
            shift = self._records_only_shift(s)
        if pending is not None:
            nxt = self._next_window(pending.person, base, cohort)
            if self.oracle:
                who = pending.person
                pending_next = _OracleNext(
                    base_without_u=(base - u_part)[who],
                    base_records_only=(base - u_part + shift)[who],
                    in_cohort=cohort[who],
                )
        lp = base + rp.recorded_previous_window * self.e_prev + rp.true_previous_window * self.i_prev
        if self.oracle:
            lp_without_u = lp - u_part
            lp_records_only = lp_without_u - rp.true_previous_window * self.i_prev + shift
        p = np.where(cohort, _sigmoid(lp), 0.0)
        f = np.where(cohort, self.f, 0.0)
        q = self.q
        recorded_p = p * q + (1.0 - p) * f
        involved = rng.random(n) < p
        recorded = np.where(involved, rng.random(n) < q, rng.random(n) < f)
        incident = s + self.season.incident_offsets(s, rng.integers(0, length, n))
        self.places.accumulate(recorded_p, float(self.season.share_before(s, self.extracted_day - s)))
        self._write_involvement(recorded, involved, incident)
        if pending is not None:
            self._resolve(
                pending, nxt, involved, recorded, incident, pending_next if self.oracle else None,
                arm_base=(base - engaged_shift)[pending.person], arm_cohort=cohort[pending.person],
            )
        in_truth = year in self.snapshot_years
        if in_truth:
            idx = np.nonzero(cohort)[0]
            part = {
                "person": idx,
                "as_of": np.full(len(idx), s, dtype=np.int64),
                "kind": np.full(len(idx), "snapshot", dtype=object),
                "true_probability": p[idx],
                "true_outcome": involved[idx].astype(np.int64),
                "recorded_probability": recorded_p[idx],
                "recorded_outcome": recorded[idx].astype(np.int64),
            }
            if self.oracle:
                part.update(self._snapshot_oracle(idx, lp_without_u[idx], lp_records_only[idx]))
            self.truth.parts.append(part)
        new_pending = None
        if year >= self.first_year:
            new_pending = self._referrals(
                s, s_next, cohort, base - u_part, p, q, f, involved, recorded, incident
            )
            if self.oracle:
                who = new_pending.person
                new_pending.lp_without_u = lp_without_u[who]
                new_pending.lp_records_only = lp_records_only[who]
        self._events(year, s, age)
        self.e_earlier |= self.e_prev
        self.e_prev = recorded
        self.i_earlier |= self.i_prev
        self.i_prev = involved
        return new_pending

    def _write_involvement(self, recorded: np.ndarray, involved: np.ndarray, day: np.ndarray) -> None:
        """Qualifying rows: the only place they are written, all on the incident day."""
        rng, rp = self.rng, self.params.recording
        case = np.nonzero(recorded & involved)[0]
        false = np.nonzero(recorded & ~involved)[0]
        kinds = draw_by_shares(rng, rp.case_record_kinds, len(case))
        police = case[kinds != "ed"]
        ed = case[kinds != "police"]
        victim = rng.random(len(police)) < rp.victim_share
        category = np.where(
            victim,
            draw_by_shares(rng, rp.victim_categories, len(police)),
            draw_by_shares(rng, rp.suspect_categories, len(police)),
        )
        false_victim = rng.random(len(false)) < rp.false_victim_share
        false_category = np.where(
            false_victim,
            draw_by_shares(rng, rp.victim_categories, len(false)),
            draw_by_shares(rng, rp.suspect_categories, len(false)),
        )
        person = np.concatenate([police, false])
        role = np.where(np.concatenate([victim, false_victim]), "victim", "suspect").astype(object)
        all_categories = np.concatenate([category, false_category])
        # One place and one weapon per incident: its police and ED rows agree.
        place, police_weapon = self._incident_place_and_weapon(person, all_categories)
        self.rows.add(
            "police_contacts",
            person,
            occurred_on=day[person],
            role=role,
            category=all_categories,
            weapon=police_weapon[person],
            area_code=self.places.codes(place[person], self.params.places.police_area_missing_share),
        )
        ed_place = place[ed]
        ed_place[ed_place < 0] = self.places.draw_areas(ed[ed_place < 0])
        self.rows.add(
            "health_events",
            ed,
            occurred_on=day[ed],
            event=np.full(len(ed), "ed_assault_injury", dtype=object),
            weapon=ed_weapons(self.places.rng, self.params.weapons, police_weapon[ed], len(ed)),
            area_code=self.places.codes(ed_place, self.params.places.ed_area_missing_share),
        )

    def _incident_place_and_weapon(self, person: np.ndarray, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Area index (-1 where no police row) and police weapon (None) of each person's incident."""
        place = np.full(self.n, -1, dtype=np.int64)
        place[person] = self.places.draw_areas(person)
        weapon = np.full(self.n, None, dtype=object)
        weapon[person] = police_weapons(self.places.rng, self.params.weapons, category)
        return place, weapon

    # ------------------------------------------------------------------ referrals
    def _referrals(
        self,
        s: int,
        s_next: int,
        cohort: np.ndarray,
        observed_lp: np.ndarray,
        p: np.ndarray,
        q: np.ndarray,
        f: np.ndarray,
        involved: np.ndarray,
        recorded: np.ndarray,
        incident: np.ndarray,
    ) -> _Pending:
        rng, rf = self.rng, self.params.referrals
        prob = _sigmoid(rf.intercept + rf.risk_slope * (observed_lp - self.params.risk.intercept))
        referred = cohort & (rng.random(self.n) < prob)
        day = s + rng.integers(0, s_next - s, self.n)
        idx = np.nonzero(referred)[0]
        r = day[idx]
        # Source: base weights, boosted by what the person's recent records show.
        in_school = ~np.isnan(self.abs_last[idx])
        boosts = {
            "school": in_school * (1.0 + rf.source_boost["school"] * (self.susp_prev[idx] >= 1)),
            "police": 1.0 + rf.source_boost["police"] * (self.police_prev[idx] >= 1),
            "social_care": 1.0 + rf.source_boost["social_care"] * self._care_recent[idx],
            "health": 1.0 + rf.source_boost["health"] * self.health_prev[idx],
            "family": np.ones(len(idx)),
            "community": np.ones(len(idx)),
        }
        weights = np.stack([rf.source_weights[k] * boosts[k] for k in boosts], axis=1)
        cum = np.cumsum(weights, axis=1)
        pick = (rng.random(len(idx))[:, None] * cum[:, -1:] >= cum).sum(axis=1)
        source = np.asarray(list(boosts), dtype=object)[pick]
        assigned = self.interventions.assign(
            idx, r, source, self.birth_day, self.recorded_male, self.e_prev | self.e_earlier, self.U, s_next
        )
        self.rows.add(
            "referrals", idx, referred_on=r, referral_source=source,
            programme=assigned["programme"], outcome=assigned["outcome"], engaged_on=assigned["engaged_on"],
        )
        keep = r + self.params.window_days <= self.extracted_day
        idx, r = idx[keep], r[keep]
        t = incident[idx]
        return _Pending(
            person=idx,
            day=r,
            p=p[idx],
            q=q[idx],
            f=f[idx],
            seen_before=recorded[idx] & (t < r),
            after_share=1.0 - self.season.share_before(s, r - s),
            next_start=s_next,
            true_k=involved[idx] & (t >= r),
            recorded_k=recorded[idx] & (t >= r),
            i_k=involved[idx],
            e_k=recorded[idx],
            programme=assigned["programme"][keep],
            outcome=assigned["outcome"][keep],
            engaged=assigned["engaged"][keep],
        )

    def _next_window(self, person: np.ndarray, base: np.ndarray, cohort: np.ndarray) -> NextWindow:
        return _next_window_probabilities(
            self.params.risk, base[person], cohort[person], self.q[person], self.f[person]
        )

    # ------------------------------------------------------------------ oracle columns
    def _ethnicity_rates(self, person: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """(share, q, f) per ethnicity multiplier group, at each person's own deprivation."""
        rp = self.params.recording
        return [
            (share, *_recording_rates(rp, self.quintile[person], d, f))
            for share, d, f in _ethnicity_groups(self.params.population.ethnicity_shares, rp)
        ]

    def _records_only_shift(self, s: int) -> np.ndarray:
        """What turns the linear predictor less U and I_{k-1} into its records-only version.

        The true ACE terms are swapped for the same terms on the ACEs the adversity table
        shows by s (count of recorded items, a record in the last two years), and the
        earlier true-involvement term is dropped. Call right after ``_linear_predictor``.
        """
        rp = self.params.risk
        known = self.ace_record_on < s
        count = np.bincount(self.ace_record_person[known], minlength=self.n)
        recent = np.zeros(self.n, dtype=bool)
        recent[self.ace_record_person[known & (self.ace_record_on >= s - 730)]] = True
        return (
            _ace_terms(rp, count, recent)
            - _ace_terms(rp, self._ace_now, self._recent_ace)
            - rp.true_earlier * self.i_earlier
        )

    def _snapshot_oracle(
        self, idx: np.ndarray, lp_without_u: np.ndarray, lp_records_only: np.ndarray
    ) -> dict[str, np.ndarray]:
        u = self.params.risk.u
        groups = self._ethnicity_rates(idx)

        def by_ethnicity(p: np.ndarray) -> np.ndarray:
            # Recorded probability is linear in p, so averaging p averages it.
            out = np.zeros(len(idx))
            for share, q, f in groups:
                out += share * (p * q + (1.0 - p) * f)
            return out

        p = probability_without_u(lp_without_u, u)
        return {
            "recorded_probability_without_u": p * self.q[idx] + (1.0 - p) * self.f[idx],
            "recorded_probability_without_u_ethnicity": by_ethnicity(p),
            "recorded_probability_records_only": by_ethnicity(probability_without_u(lp_records_only, u)),
        }

    def _referral_oracle(
        self, pending: _Pending, next_share: np.ndarray, nxt: _OracleNext | None
    ) -> dict[str, np.ndarray]:
        rp = self.params.risk
        # Records only: window k + 1 does not see I_k either.
        rp_records_only = replace(rp, true_previous_window=0.0)
        groups = self._ethnicity_rates(pending.person)

        def averaged(risk, lp, next_base, q, f):
            return referral_recorded_without_u(
                risk, lp, next_base, None if nxt is None else nxt.in_cohort, q, f,
                pending.seen_before, pending.after_share, next_share,
            )

        def by_ethnicity(risk, lp, next_base):
            out = np.zeros(len(pending.person))
            for share, q, f in groups:
                out += share * averaged(risk, lp, next_base, q, f)
            return out

        base_u = None if nxt is None else nxt.base_without_u
        base_records = None if nxt is None else nxt.base_records_only
        return {
            "recorded_probability_without_u": averaged(
                rp, pending.lp_without_u, base_u, pending.q, pending.f
            ),
            "recorded_probability_without_u_ethnicity": by_ethnicity(rp, pending.lp_without_u, base_u),
            "recorded_probability_records_only": by_ethnicity(
                rp_records_only, pending.lp_records_only, base_records
            ),
        }

    def _resolve(
        self,
        pending: _Pending,
        nxt: NextWindow | None,
        involved: np.ndarray | None = None,
        recorded: np.ndarray | None = None,
        incident: np.ndarray | None = None,
        oracle_next: _OracleNext | None = None,
        arm_base: np.ndarray | None = None,
        arm_cohort: np.ndarray | None = None,
    ) -> None:
        """Truth rows for last window's referrals, now that window k + 1 is drawn.

        ``arm_base`` is window k + 1's linear predictor of each referral without the
        engagement shift (None when no later window is simulated), for the truth under
        both arms.
        """
        length = self.params.window_days
        next_share = self.season.share_before(pending.next_start, pending.day + length - pending.next_start)
        person = pending.person
        if nxt is None:
            # No later window simulated: only referrals whose horizon ends by then were kept.
            if np.any(next_share > 0):
                raise RuntimeError("referral horizon reaches an unsimulated window")
            nxt = _no_next_window(len(person))
            true_next = recorded_next = np.zeros(len(person), dtype=bool)
        else:
            before_end = incident[person] < pending.day + length
            true_next = involved[person] & before_end
            recorded_next = recorded[person] & before_end
        true_p, recorded_p = referral_probabilities(
            pending.p, pending.q, pending.f, pending.seen_before, pending.after_share, next_share, nxt
        )
        part = {
            "person": person,
            "as_of": pending.day,
            "kind": np.full(len(person), "referral", dtype=object),
            "true_probability": true_p,
            "true_outcome": (pending.true_k | true_next).astype(np.int64),
            "recorded_probability": recorded_p,
            "recorded_outcome": (pending.recorded_k | recorded_next).astype(np.int64),
        }
        if self.oracle:
            part.update(self._referral_oracle(pending, next_share, oracle_next))
        self.truth.parts.append(part)
        rp = self.params.risk

        def arm_next(shift: float) -> NextWindow:
            if arm_base is None:
                return _no_next_window(len(person))
            return _next_window_probabilities(rp, arm_base + shift, arm_cohort, self.q[person], self.f[person])

        self.interventions.resolve(
            self.person_ids, person, pending.day, pending.programme, pending.outcome, pending.engaged,
            arm_probability_function(
                arm_next, pending.p, pending.q, pending.f, pending.seen_before, pending.after_share, next_share
            ),
        )

    # ------------------------------------------------------------------ window records
    def _events(self, year: int, s: int, age: np.ndarray) -> None:
        """Every non-qualifying record of the window, drawn from the state at s."""
        self._school(year, s)
        self._contacts(s, age)

    def _school(self, year: int, s: int) -> None:
        """The window's school records, then the school state the next window reads."""
        absent_sum, possible_sum = self._attendance(year)
        suspensions, permanent, permanent_day = self._exclusions(year, s)
        neet = self._education_status(year, s, np.nonzero(permanent)[0], permanent_day)
        with np.errstate(invalid="ignore", divide="ignore"):
            window_absence = np.where(possible_sum > 0, absent_sum / np.maximum(possible_sum, 1), np.nan)
        self.abs_prev = self.abs_last
        self.abs_last = window_absence
        self.abs_known = np.where(np.isnan(window_absence), self.abs_known, window_absence)
        self.susp_prev = suspensions
        self.pex_ever |= permanent
        self.ap_ever |= permanent
        self.neet_prev = neet

    def _pupils(self, school_year: int) -> np.ndarray:
        """Who is of school age (reception to year 11) in the school year starting then."""
        sp = self.params.school
        age_aug = school_year - self.birth_year - (8 < self.birth_month)
        return (age_aug >= sp.school_age_first) & (age_aug <= sp.school_age_last)

    def _attendance(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        """One attendance row per pupil per term of the window; the window's sessions absent
        and possible per person (the absence the next window's risk reads)."""
        rng, sp, n = self.rng, self.params.school, self.n
        absent_sum = np.zeros(n)
        possible_sum = np.zeros(n)
        terms = zip(sp.term_month_day, sp.term_end_month_day, sp.term_sessions, strict=True)
        for (month, day), (end_month, end_day), sessions in terms:
            term_year = year + 1 if month < 4 else year
            school_year = term_year if month >= 9 else term_year - 1
            age_aug = school_year - self.birth_year - (8 < self.birth_month)
            pupil = self._pupils(school_year)
            self.D = sp.absence_term_ar * self.D + sp.absence_term_sd * rng.standard_normal(n)
            logit = (
                sp.absence_intercept
                + self.absence_person
                + sp.absence_year_shift.get(school_year, 0.0)
                + sp.absence_per_ace * self._ace_now
                + sp.absence_deprivation * (self.quintile - 3)
                + sp.absence_u * self.U
                + sp.absence_recent_ace * self._recent_ace
                + sp.absence_secondary_per_year * np.clip(age_aug - 10, 0, None)
                + self.D
            )
            idx = np.nonzero(pupil)[0]
            possible = sessions - rng.integers(0, sp.term_sessions_jitter + 1, len(idx))
            rate = _sigmoid(logit[idx])
            absent = rng.binomial(possible, rate)
            share = np.minimum(0.9, sp.unauthorised_share_base + sp.unauthorised_share_slope * rate)
            unauthorised = rng.binomial(absent, share)
            self.rows.add(
                "attendance",
                idx,
                term_start=np.full(len(idx), _date_day(term_year, month, day), dtype=np.int32),
                term_end=np.full(len(idx), _date_day(term_year, end_month, end_day), dtype=np.int32),
                sessions_possible=possible.astype(np.int16),
                sessions_attended=(possible - absent).astype(np.int16),
                unauthorised_absences=unauthorised.astype(np.int16),
            )
            absent_sum[idx] += absent
            possible_sum[idx] += possible
        return absent_sum, possible_sum

    def _exclusions(self, year: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Suspensions (with their length in days) and permanent exclusions (no days) of the
        window's school roll (its autumn-term pupils). Returns each person's suspensions,
        who was permanently excluded and the day of each permanent exclusion."""
        rng, sp, n = self.rng, self.params.school, self.n
        length = self.params.window_days
        pupil = self._pupils(year)
        secondary = year - self.birth_year - (8 < self.birth_month) >= 11
        a_last = np.nan_to_num(self.abs_last, nan=0.0)
        rate = np.exp(
            sp.suspension_intercept
            + sp.suspension_per_ace * self._ace_now
            + sp.suspension_deprivation * (self.quintile - 3)
            + sp.suspension_male * self.male
            + sp.suspension_secondary * secondary
            + sp.suspension_absence * a_last
            + sp.suspension_u * self.U
            + sp.suspension_previous * (self.susp_prev >= 1)
        )
        count = np.where(pupil, rng.poisson(rate), 0)
        person = np.repeat(np.arange(n), count)
        days = _no_august(s + rng.integers(0, length, len(person)))
        self.rows.add(
            "exclusions",
            person,
            excluded_on=days,
            exclusion=np.full(len(person), "suspension", dtype=object),
            days=(1 + rng.poisson(sp.suspension_days_mean_extra, len(person))).astype(float),
        )
        permanent = pupil & (
            rng.random(n) < _sigmoid(sp.permanent_intercept + sp.permanent_per_suspension * np.minimum(count, 6))
        )
        pidx = np.nonzero(permanent)[0]
        pday = _no_august(s + rng.integers(0, length - 45, len(pidx)))
        # A permanent exclusion has no length: days stays empty (contract 1.1).
        self.rows.add(
            "exclusions",
            pidx,
            excluded_on=pday,
            exclusion=np.full(len(pidx), "permanent", dtype=object),
        )
        return count, permanent, pday

    def _education_status(self, year: int, s: int, excluded: np.ndarray, excluded_day: np.ndarray) -> np.ndarray:
        """School moves, home education, children missing education, NEET, and alternative
        provision after each permanent exclusion (``excluded`` on ``excluded_day``).
        Returns who was NEET in the window."""
        rng, sp, n = self.rng, self.params.school, self.n
        length = self.params.window_days
        pupil = self._pupils(year)
        ace = self._ace_now
        move_logit = np.log(sp.school_move_rate / (1 - sp.school_move_rate)) + sp.school_move_per_ace * ace
        move = pupil & (rng.random(n) < _sigmoid(move_logit))
        home = pupil & (rng.random(n) < sp.home_education_rate)
        missing = pupil & (
            rng.random(n) < sp.missing_education_rate * np.exp(sp.missing_education_ace4 * (ace >= 4))
        )
        age_now = year - self.birth_year - (4 < self.birth_month)
        lo, hi = sp.neet_ages
        neet_age = (age_now >= lo) & (age_now <= hi)
        neet_p = _sigmoid(
            sp.neet_intercept
            + sp.neet_absence * np.nan_to_num(self.abs_known, nan=0.05)
            + sp.neet_ace4 * (ace >= 4)
            + sp.neet_deprivation * (self.quintile - 3)
        )
        neet = neet_age & (rng.random(n) < neet_p)
        status_parts = []
        for mask, status in (
            (move, "school_move"),
            (home, "elective_home_education"),
            (missing, "child_missing_education"),
            (neet, "neet"),
        ):
            idx = np.nonzero(mask)[0]
            status_parts.append((idx, s + rng.integers(0, length, len(idx)), status))
        status_parts.append(
            (
                excluded,
                np.minimum(excluded_day + sp.alternative_provision_delay_days, s + length - 1),
                "alternative_provision",
            )
        )
        for idx, days, status in status_parts:
            self.rows.add(
                "education_status", idx, recorded_on=days, status=np.full(len(idx), status, dtype=object)
            )
        return neet

    def _contacts(self, s: int, age: np.ndarray) -> None:
        rng, cp, n = self.rng, self.params.contacts, self.n
        length = self.params.window_days
        lo, hi = cp.ages
        active = (age >= lo) & (age <= hi)
        ace = self._ace_now
        a_last = np.nan_to_num(self.abs_last, nan=0.0)
        dep = self.quintile - 3
        rates = {
            "suspect": cp.suspect_intercept
            + cp.suspect_male * self.male
            - cp.suspect_age_curvature * (age - 17.0) ** 2
            + cp.suspect_u * self.U
            + cp.suspect_per_ace * ace
            + cp.suspect_deprivation * dep
            + cp.suspect_absence * a_last
            + cp.suspect_suspended * (self.susp_prev >= 1)
            + cp.suspect_prior_true * self.i_prev,
            "victim": cp.victim_intercept + cp.victim_per_ace * ace + cp.victim_u * self.U,
            "missing": cp.missing_intercept
            + cp.missing_per_ace * ace
            + cp.missing_looked_after * (self.lac_first < s)
            + cp.missing_u * self.U,
            "exploitation": cp.exploitation_intercept
            + cp.exploitation_u * self.U
            + cp.exploitation_per_ace * ace
            + cp.exploitation_missing * self.missing_prev,
            "witness": np.full(n, cp.witness_intercept),
        }
        counts = {k: np.where(active, rng.poisson(np.exp(v)), 0) for k, v in rates.items()}
        for kind, count in counts.items():
            person = np.repeat(np.arange(n), count)
            m = len(person)
            if kind == "suspect":
                role, category = "suspect", draw_by_shares(rng, cp.suspect_categories, m)
            elif kind == "victim":
                role, category = "victim", draw_by_shares(rng, cp.victim_categories, m)
            elif kind == "missing":
                role, category = "missing_person", np.full(m, "other", dtype=object)
            elif kind == "exploitation":
                role, category = "victim", np.full(m, "criminal_exploitation_concern", dtype=object)
            else:
                role, category = "witness", draw_by_shares(rng, cp.witness_categories, m)
            self.rows.add(
                "police_contacts",
                person,
                occurred_on=s + rng.integers(0, length, m),
                role=np.full(m, role, dtype=object),
                category=category,
                weapon=police_weapons(self.places.rng, self.params.weapons, category),
                area_code=self.places.codes(
                    self.places.draw_areas(person), self.params.places.police_area_missing_share
                ),
            )
        female = ~self.male
        child = (age >= cp.camhs_ages[0]) & (age <= cp.camhs_ages[1])
        health_rates = {
            "ed_self_harm": (
                active,
                cp.self_harm_intercept + cp.self_harm_female * female + cp.self_harm_per_ace * ace,
            ),
            "ed_substance_related": (active, cp.substance_ed_intercept + cp.substance_ed_u * self.U),
            "substance_misuse_treatment": (
                active,
                cp.substance_treatment_intercept + cp.substance_treatment_u * self.U,
            ),
            "camhs_referral": (
                child,
                cp.camhs_intercept + cp.camhs_per_ace * ace + cp.camhs_female * female,
            ),
        }
        health_counts = {}
        for event, (mask, log_rate) in health_rates.items():
            count = np.where(mask, rng.poisson(np.exp(log_rate)), 0)
            health_counts[event] = count
            person = np.repeat(np.arange(n), count)
            self.rows.add(
                "health_events",
                person,
                occurred_on=s + rng.integers(0, length, len(person)),
                event=np.full(len(person), event, dtype=object),
            )
        self.police_prev3 = self.police_prev2
        self.police_prev2 = self.police_prev
        self.police_prev = counts["suspect"]
        self.missing_prev = counts["missing"] >= 1
        self.exploit_prev = counts["exploitation"] >= 1
        self.health_prev = (health_counts["ed_self_harm"] + health_counts["ed_substance_related"]) >= 1

    # ------------------------------------------------------------------ outputs
    def frames(self) -> dict[str, pd.DataFrame]:
        out = {"people": to_canonical("people", self.people)}
        for table in TABLES:
            if table != "people":
                out[table] = self.rows.frame(table, self.person_ids, self.extracted_day)
        return out

    def truth_frame(self) -> pd.DataFrame:
        cols = {k: np.concatenate([part[k] for part in self.truth.parts]) for k in self.truth.parts[0]}
        order = np.lexsort((cols["kind"] == "snapshot", cols["as_of"], cols["person"]))
        frame = pd.DataFrame(
            {
                "person_id": self.person_ids[cols["person"][order]],
                "as_of": cols["as_of"][order].astype("datetime64[D]").astype("datetime64[ns]"),
                "kind": cols["kind"][order],
                "true_probability": cols["true_probability"][order],
                "true_outcome": cols["true_outcome"][order],
                "recorded_probability": cols["recorded_probability"][order],
                "recorded_outcome": cols["recorded_outcome"][order],
            }
        )
        for name in ORACLE_COLUMNS:
            if name in cols:
                frame[name] = cols[name][order]
        return frame

    def latent_frame(self) -> pd.DataFrame:
        data = {
            "person_id": self.person_ids,
            "male": self.male,
            "z": self.z,
            "deprivation_quintile": self.quintile,
            "ace_count": self.ace_count,
        }
        for i, item in enumerate(ACE_TYPES):
            data[f"ace_{item}"] = self.ace_has[:, i]
        return pd.DataFrame(data)
