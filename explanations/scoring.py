"""Batch scoring of a whole extract with a registered model (``svrisk score``).

The model is the registered MLflow pyfunc the service loads, and rows are
scored by the very object inside it,
``loaded.unwrap_python_model().risk_model.score(extract, cohort)``, so batch
scores, their explanations and the service's answers cannot drift apart.

- Which version: ``--version N`` pins one; ``--alias`` names one; by default
  the fairness-gated ``champion``, and when no champion exists yet the
  ``candidate`` with a warning that it has not passed the fairness gate.
- The downloaded artifact's checksum must equal the version's
  ``artifact_sha256`` tag (:func:`registry.versions.download_verified`, as in
  the service), so a model changed after registration is never used.
- A version that claims to have passed the gate (``gate.passed`` true, or the
  ``champion`` alias) must carry a gate verdict signed by a key in
  ``SVRISK_VERIFY_KEY_FILE`` (:func:`registry.signatures.verify_claimed_clearance`),
  so a verdict set by hand is refused here as in the service.
- Rows are scored in chunks of cohort rows; each chunk gets the extract
  restricted to its people. Features are per person and point-in-time
  (``features.point_in_time``), so this changes no value and keeps the cost of
  each chunk proportional to its size rather than to the whole extract.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from extract.contract import Extract
from registry.names import ALIASES, CHAMPION_ALIAS, MODEL_NAME
from registry.signatures import verify_claimed_clearance
from registry.versions import ResolvedVersion, download_verified, resolve_version

OUTPUT_FORMATS = (".parquet", ".csv")
DEFAULT_CHUNK_SIZE = 20_000
OUTPUT_COLUMNS = (
    "person_id",
    "as_of",
    "kind",
    "local_authority",
    "probability",
    "absolute_risk",
    "model_version",
    "base_value",
    "explanation",
)

ERR_OUT_FORMAT = "the output file must end in .parquet or .csv, got {path}"
ERR_CHUNK = "chunk_size must be a positive integer, got {value!r}"
ERR_EMPTY_COHORT = "the cohort is empty: nobody to score"
ERR_ORDER = "the model returned rows in a different order from the cohort"
ERR_ALIAS = "alias must be one of {allowed}, got {alias!r}"
NOTICE_FALLBACK = (
    "no 'champion' version of '{name}' exists yet, so these scores come from the 'candidate' "
    "(version {version}), which has NOT passed the fairness gate; run `svrisk publish` to gate it"
)


@dataclass(frozen=True)
class ResolvedModel:
    """The model version chosen for scoring and, when it has not passed the gate, a notice saying so."""

    entry: ResolvedVersion
    notice: str | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def version(self) -> str:
        return self.entry.version

    @property
    def alias(self) -> str | None:
        return self.entry.alias


def resolve_model(
    client: Any,
    name: str = MODEL_NAME,
    alias: str | None = None,
    version: int | None = None,
) -> ResolvedModel:
    """Pick the registered version: pinned ``version``, else ``alias``, else champion then candidate.

    Falling back from champion to candidate happens only when no alias was
    asked for; the returned ``notice`` then says so.

    Raises
    ------
    ValueError
        When the version or alias does not exist, or no model is registered.
    """
    if alias is not None and alias not in ALIASES:
        raise ValueError(ERR_ALIAS.format(allowed=list(ALIASES), alias=alias))
    found = resolve_version(client, name, version=version, aliases=ALIASES if alias is None else (alias,))
    fell_back = version is None and alias is None and found.alias != CHAMPION_ALIAS
    return ResolvedModel(found, NOTICE_FALLBACK.format(name=name, version=found.version) if fell_back else None)


def load_risk_model(resolved: ResolvedModel) -> Any:
    """Check a claimed gate verdict's signature, download the version, check its checksum and return
    the RiskModel inside its pyfunc (``ValueError`` saying why when refused)."""
    from runtime.pyfunc_model import load_logged_model

    entry = resolved.entry
    verify_claimed_clearance(entry.tags, entry.name, entry.version, entry.alias)
    with tempfile.TemporaryDirectory(prefix="svrisk-score-") as tmp:
        local = download_verified(resolved.entry, tmp)
        return load_logged_model(local).unwrap_python_model().risk_model


def extract_for_people(extract: Extract, person_ids: pd.Series) -> Extract:
    """The extract restricted to the records of ``person_ids`` (row order and dtypes kept)."""
    wanted = pd.Index(pd.unique(person_ids.to_numpy(dtype=object)))
    tables = {
        name: frame[frame["person_id"].isin(wanted)].reset_index(drop=True)
        for name, frame in extract.tables.items()
    }
    return dataclasses.replace(extract, tables=tables)


def scoring_cohort(extract: Extract, as_of: list[str] | None, referrals: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows `svrisk score` scores (every referral, or everyone on each ``as_of`` date) that are
    within the scoring ages, and how many were left out by reason (``features.cohort``)."""
    from features.cohort import referral_cohort, snapshot_cohort, within_scoring_ages

    cohort = referral_cohort(extract) if referrals else snapshot_cohort(extract, as_of or [], all_ages=True)
    return within_scoring_ages(extract, cohort)


def score_extract(
    risk_model: Any,
    extract: Extract,
    cohort: pd.DataFrame,
    *,
    model_version: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    top_k: int = 5,
    on_chunk: Callable[[int], None] | None = None,
    explain: bool = True,
) -> pd.DataFrame:
    """Score and explain every cohort row, ``chunk_size`` rows at a time.

    Parameters
    ----------
    risk_model : runtime.risk_model.RiskModel
        From :func:`load_risk_model`.
    extract : Extract
    cohort : DataFrame
        person_id, as_of and kind (``features.cohort``).
    model_version : str
        Written in the ``model_version`` column.
    on_chunk : callable, optional
        Called with the number of rows just scored (progress bars).
    explain : bool, default True
        False skips the explanations (aggregate uses such as ``svrisk needs``): the
        factor columns are then None.

    Returns
    -------
    DataFrame
        ``OUTPUT_COLUMNS`` (plus referral_source for referrals), in cohort order;
        absolute_risk is the natural-frequency sentence and explanation the grouped
        explanation as JSON text (docs/explanations.md, "Output").
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(ERR_CHUNK.format(value=chunk_size))
    if len(cohort) == 0:
        raise ValueError(ERR_EMPTY_COHORT)
    cohort = cohort.reset_index(drop=True)
    parts = []
    for start in range(0, len(cohort), chunk_size):
        chunk = cohort.iloc[start : start + chunk_size].reset_index(drop=True)
        scored = risk_model.score(
            extract_for_people(extract, chunk["person_id"]), chunk, explain=explain, top_k=top_k
        )
        if not scored["person_id"].astype(str).equals(chunk["person_id"].astype(str)):
            raise ValueError(ERR_ORDER)
        for column in ("kind", "referral_source"):
            if column in chunk.columns:
                scored[column] = chunk[column].to_numpy()
        parts.append(scored)
        if on_chunk is not None:
            on_chunk(len(chunk))
    out = pd.concat(parts, ignore_index=True)
    out["model_version"] = str(model_version)
    # The person's local authority, so a team lead can filter the caseload (pseudonymous ids only).
    people = extract.tables["people"].drop_duplicates("person_id").set_index("person_id")
    out["local_authority"] = out["person_id"].map(people["local_authority"]).to_numpy()
    columns = [c for c in OUTPUT_COLUMNS if c in out.columns]
    if "referral_source" in out.columns:
        columns.insert(columns.index("kind") + 1, "referral_source")
    return out[columns]


def check_output_path(path: str | Path) -> Path:
    """``path`` if it ends in .parquet or .csv, else a ValueError."""
    out = Path(path)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise ValueError(ERR_OUT_FORMAT.format(path=out))
    return out


def write_scores(scores: pd.DataFrame, path: str | Path) -> Path:
    """Write the scores as Parquet or CSV (by suffix); parent folders are created."""
    out = check_output_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        scores.to_parquet(out, index=False)
    else:
        scores.to_csv(out, index=False, date_format="%Y-%m-%d")
    return out
