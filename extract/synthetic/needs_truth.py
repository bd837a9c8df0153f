"""What the needs-assessment report should recover from a synthetic extract.

Written to ``_truth/needs.json`` (and the areas to ``_truth/areas.csv``) by
``svrisk generate``: the concentration of expected recorded serious violence
across areas, the true monthly multipliers and the true share of ED assault
episodes that never reach police records.
"""

from __future__ import annotations

from extract.synthetic.places import Places
from extract.synthetic.seasons import SeasonalCalendar

NEEDS_FILE = "needs.json"
AREAS_FILE = "areas.csv"


def ed_only_share(case_record_kinds: dict[str, float]) -> float:
    """Share of ED assault episodes with no police record of the same incident.

    Only recorded true cases write ED rows (false records are police-only), so this
    is the ``ed`` kind's share of the kinds that write an ED row.
    """
    ed, both = case_record_kinds.get("ed", 0.0), case_record_kinds.get("police_and_ed", 0.0)
    return ed / (ed + both) if ed + both > 0 else float("nan")


def needs_truth(places: Places, season: SeasonalCalendar, params) -> dict:
    """The JSON-able truth for ``_truth/needs.json``."""
    return {
        "concentration": places.truth(),
        "season": season.truth(),
        "ed_only": {
            "share": ed_only_share(params.recording.case_record_kinds),
            "measure": (
                "expected share of ED assault episodes (person and day) with no police "
                "victim/suspect serious-violence row for the same person on the same day"
            ),
        },
    }
