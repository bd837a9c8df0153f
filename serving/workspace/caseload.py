"""A team's caseload: a ``svrisk score`` output ranked, within capacity, by local authority and band.

The file is read as Parquet or CSV, checked for the columns ``svrisk score``
writes, and refused when it was scored by another model version than the one
served (bands belong to a version). Bands and percentiles come from the served
model, as for a single case. Only pseudonymous ids are shown.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serving.risk_bands import band_sentence

REQUIRED_COLUMNS = (
    "person_id", "as_of", "probability", "model_version", "base_value", "explanation",
)  # fmt: skip
PARQUET_MAGIC = b"PAR1"
ERR_UNREADABLE = "the file is not a readable Parquet or CSV file"
ERR_COLUMNS = "the file lacks the column(s) {columns} that `svrisk score` writes"
ERR_EMPTY = "the file holds no scored rows"
ERR_PROBABILITY = "probability: every value must be a number between 0 and 1"
ERR_VERSION = (
    "model_version: the file was scored with version(s) {found}; the service serves version "
    "{served}, whose bands differ: score the snapshot again with `svrisk score --version {served}`"
)
ERR_FACTORS = "explanation: not the JSON grouped explanation `svrisk score` writes"
EXPLANATION_KEYS = ("base_value", "raising", "lowering", "support_could_address", "other_factors")
NO_AUTHORITY = "not recorded"


def read_scores(payload: bytes, model: Any) -> pd.DataFrame:
    """The ranked caseload of a score file, with band and percentile; ``ValueError`` if unusable."""
    try:
        if payload[:4] == PARQUET_MAGIC:
            frame = pd.read_parquet(io.BytesIO(payload))
        else:
            frame = pd.read_csv(io.BytesIO(payload), dtype={"person_id": str, "model_version": str})
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValueError(ERR_UNREADABLE) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(ERR_COLUMNS.format(columns=", ".join(missing)))
    if frame.empty:
        raise ValueError(ERR_EMPTY)
    probability = pd.to_numeric(frame["probability"], errors="coerce").to_numpy(dtype="float64")
    if not np.all(np.isfinite(probability)) or probability.min() < 0 or probability.max() > 1:
        raise ValueError(ERR_PROBABILITY)
    versions = sorted(set(frame["model_version"].astype(str)))
    if versions != [str(model.version)]:
        raise ValueError(ERR_VERSION.format(found=", ".join(versions[:3]), served=model.version))
    frame["explanation"].map(_check_explanation)
    authority = (
        frame["local_authority"].fillna(NO_AUTHORITY).astype(str)
        if "local_authority" in frame.columns
        else pd.Series(NO_AUTHORITY, index=frame.index)
    )
    out = pd.DataFrame(
        {
            "person_id": frame["person_id"].astype(str),
            "as_of": pd.to_datetime(frame["as_of"]).dt.strftime("%Y-%m-%d"),
            "local_authority": authority,
            "probability": probability,
            "band": model.bands.band(probability).astype("int64"),
            "percentile": np.asarray(model.risk_model.percentile(probability), dtype="float64"),
            "base_value": pd.to_numeric(frame["base_value"]).astype("float64"),
            "explanation": frame["explanation"].astype(str),
            "model_version": frame["model_version"].astype(str),
        }
    )
    out = out.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _check_explanation(text: object) -> None:
    try:
        explanation = json.loads(str(text))
    except json.JSONDecodeError:
        raise ValueError(ERR_FACTORS) from None
    if not isinstance(explanation, dict) or any(key not in explanation for key in EXPLANATION_KEYS):
        raise ValueError(ERR_FACTORS)
    groups = explanation["raising"] + explanation["lowering"] + explanation["support_could_address"]
    if not all(isinstance(g, dict) and "sentence" in g and "contribution" in g for g in groups):
        raise ValueError(ERR_FACTORS)


def to_bytes(caseload: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    caseload.to_parquet(buffer, index=False)
    return buffer.getvalue()


def from_bytes(payload: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(payload))


@dataclass(frozen=True)
class CaseloadView:
    """The rows shown, counts by band, and the filter's choices."""

    rows: list[dict[str, Any]]
    counts: list[tuple[int, int, int]]  # band, rows in the list, rows in the file
    authorities: list[str]
    total: int
    matching: int


def view(caseload: pd.DataFrame, capacity: int, authority: str, band: str) -> CaseloadView:
    """The ranked list within ``capacity``, filtered by local authority and band ("" = all)."""
    chosen = caseload
    if authority:
        chosen = chosen[chosen["local_authority"] == authority]
    if band.isdigit():
        chosen = chosen[chosen["band"] == int(band)]
    shown = chosen.head(capacity)
    in_list = shown["band"].value_counts()
    in_file = chosen["band"].value_counts()
    counts = [(b, int(in_list.get(b, 0)), int(in_file.get(b, 0))) for b in range(10, 0, -1)]
    return CaseloadView(
        rows=shown.to_dict("records"),
        counts=counts,
        authorities=sorted(caseload["local_authority"].unique().tolist()),
        total=len(caseload),
        matching=len(chosen),
    )


def scored_case(row: dict[str, Any], model: Any) -> dict[str, Any]:
    """One caseload row in the shape of a ``POST /score`` answer, for the result page."""
    return {
        "person_id": row["person_id"],
        "as_of": row["as_of"],
        "probability": float(row["probability"]),
        "absolute_risk": model.risk_model.absolute_risk(float(row["probability"])),
        "band": int(row["band"]),
        "band_sentence": band_sentence(int(row["band"]), float(row["percentile"])),
        "percentile": float(row["percentile"]),
        "explanation": json.loads(row["explanation"]),
        "model_version": row["model_version"],
        "audit_id": None,
    }
