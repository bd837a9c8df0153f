"""School engagement: attendance, absence, exclusions and education status events."""

from __future__ import annotations

import numpy as np

from features.point_in_time import DAYS_12_MONTHS, DAYS_24_MONTHS, CohortClock, flag

# DfE definitions: persistent absence below 90% attendance, severe absence below 50%.
PERSISTENT_ABSENCE_BELOW = 0.9
SEVERE_ABSENCE_BELOW = 0.5
# Only terms that ended in the two years before as_of count as "the last 6 terms";
# older terms say nothing about current engagement.
RECENT_TERMS_DAYS = DAYS_24_MONTHS


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where there is no record (denominator 0)."""
    out = np.full(len(denominator), np.nan)
    has = denominator > 0
    out[has] = numerator[has] / denominator[has]
    return out


def _below(rate: np.ndarray, threshold: float) -> np.ndarray:
    """1.0 / 0.0 whether a rate is below a threshold, NaN where the rate is unknown."""
    return np.where(np.isnan(rate), np.nan, (rate < threshold).astype(np.float64))


def school_features(clock: CohortClock) -> dict[str, np.ndarray]:
    """Attendance over the last 3 and 6 terms, absence flags, trend, exclusions, education events.

    "The last 3 terms" are the person's 3 latest attendance terms that ended
    before as_of and within the last 2 years (fewer when fewer are on record): a
    term's attendance is known once it is over (``term_end``, contract 1.1), so a
    term still running at as_of never counts;
    "the 3 before" are the next 3 older ones inside the same 2 years. With no
    term in the last 2 years ``no_school_record`` is 1 and every attendance
    rate and absence flag is NaN (unknown, never 0%).
    """
    attendance = clock.table("attendance")
    terms = attendance.index("term_end")
    hi = terms.before
    recent = terms.lower(RECENT_TERMS_DAYS)
    lo3 = np.maximum(recent, hi - 3)
    lo6 = np.maximum(recent, hi - 6)
    # term_end is never empty (contract; derived for a 1.0 extract), so the index holds every
    # row in table order.
    possible = attendance.values("sessions_possible")
    attended = attendance.values("sessions_attended")
    unauthorised = attendance.values("unauthorised_absences")

    possible3 = terms.int_sum(possible, lo3, hi)
    possible6 = terms.int_sum(possible, lo6, hi)
    possible_prev = terms.int_sum(possible, lo6, lo3)
    rate3 = _rate(terms.int_sum(attended, lo3, hi), possible3)
    rate_prev = _rate(terms.int_sum(attended, lo6, lo3), possible_prev)
    out: dict[str, np.ndarray] = {
        "no_school_record": (hi == recent).astype(np.float64),
        "attendance_3t": rate3,
        "attendance_6t": _rate(terms.int_sum(attended, lo6, hi), possible6),
        "unauthorised_absence_3t": _rate(terms.int_sum(unauthorised, lo3, hi), possible3),
        "unauthorised_absence_6t": _rate(terms.int_sum(unauthorised, lo6, hi), possible6),
        "persistent_absence_3t": _below(rate3, PERSISTENT_ABSENCE_BELOW),
        "severe_absence_3t": _below(rate3, SEVERE_ABSENCE_BELOW),
        "attendance_trend": rate3 - rate_prev,
    }

    exclusions = clock.table("exclusions")
    suspensions = exclusions.index("excluded_on", exclusions.is_in("exclusion", "suspension"),
                                   values=exclusions.values("days"))
    out["suspensions_12m"] = suspensions.count(DAYS_12_MONTHS)
    out["suspension_days_12m"] = suspensions.float_sum(DAYS_12_MONTHS)
    out["suspensions_ever"] = suspensions.count()
    out["permanent_exclusion_ever"] = flag(
        exclusions.index("excluded_on", exclusions.is_in("exclusion", "permanent")).count()
    )

    status = clock.table("education_status")
    out["school_moves_24m"] = status.index("recorded_on", status.is_in("status", "school_move")).count(DAYS_24_MONTHS)
    for event in ("alternative_provision", "elective_home_education", "child_missing_education", "neet"):
        records = status.index("recorded_on", status.is_in("status", event))
        out[f"{event}_ever"] = flag(records.count())
        if event == "neet":
            out["neet_12m"] = flag(records.count(DAYS_12_MONTHS))
    return out
