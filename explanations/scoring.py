"""Batch scoring of a whole extract with a registered model (``svrisk score``).

The model is the registered MLflow pyfunc the service loads, and rows are
scored by the very object inside it,
``loaded.unwrap_python_model().risk_model.score(extract, cohort)``, so batch
scores, their explanations and the service's answers cannot drift apart.

- Which version: ``--version N`` pins one; ``--alias`` names one; by default
  the fairness-gated ``champion``, and when no champion exists yet the
  ``candidate`` with a warning that it has not passed the fairness gate.
- The downloaded artifact's checksum must equal the version's
  ``artifact_sha256`` tag (as in the service), so a model changed after
  registration is never used.
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
from registry.checksum import CHECKSUM_TAG, artifact_sha256
from registry.versions import CANDIDATE_ALIAS

REGISTERED_MODEL = "svrisk"
CHAMPION_ALIAS = "champion"
ALIASES = (CHAMPION_ALIAS, CANDIDATE_ALIAS)
OUTPUT_FORMATS = (".parquet", ".csv")
DEFAULT_CHUNK_SIZE = 20_000
OUTPUT_COLUMNS = (
    "person_id",
    "as_of",
    "kind",
    "probability",
    "model_version",
    "base_value",
    "top_raising",
    "top_lowering",
)

ERR_NO_VERSION = "registered model '{name}' has no version {version}"
ERR_NO_ALIAS = (
    "registered model '{name}' has no version behind alias '{alias}' "
    "(`svrisk train` sets 'candidate', `svrisk publish` sets 'champion')"
)
ERR_NO_MODEL = (
    "no model is registered as '{name}' with a 'champion' or 'candidate' alias: "
    "train one with `svrisk train DIR`, then gate it with `svrisk publish`"
)
ERR_NO_CHECKSUM = "refusing to score with {name} version {version}: it has no {tag} tag"
ERR_CHECKSUM = (
    "refusing to score with {name} version {version}: the artifact's checksum {actual} does not "
    "match its {tag} tag {expected} (the model changed after registration)"
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
    """The model version chosen for scoring and how it was chosen."""

    name: str
    version: str
    alias: str | None
    tags: dict[str, str]
    notice: str | None = None


def resolve_model(
    client: Any,
    name: str = REGISTERED_MODEL,
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
    model = _lookup(lambda: client.get_registered_model(name))
    if model is None:
        raise ValueError(ERR_NO_MODEL.format(name=name))
    if version is not None:
        found = _lookup(lambda: client.get_model_version(name, str(version)))
        if found is None:
            raise ValueError(ERR_NO_VERSION.format(name=name, version=version))
        return ResolvedModel(name, str(found.version), None, dict(found.tags))
    if alias is not None and alias not in ALIASES:
        raise ValueError(ERR_ALIAS.format(allowed=list(ALIASES), alias=alias))
    # Aliases are read from the registered model rather than by a failing lookup, whose
    # error code differs between the SQL store and a tracking server.
    aliases = dict(model.aliases)
    if alias is not None:
        if alias not in aliases:
            raise ValueError(ERR_NO_ALIAS.format(name=name, alias=alias))
        chosen = alias
    else:
        chosen = next((a for a in ALIASES if a in aliases), None)
        if chosen is None:
            raise ValueError(ERR_NO_MODEL.format(name=name))
    found = client.get_model_version(name, str(aliases[chosen]))
    notice = NOTICE_FALLBACK.format(name=name, version=found.version) if alias is None and chosen != CHAMPION_ALIAS else None
    return ResolvedModel(name, str(found.version), chosen, dict(found.tags), notice)


def _lookup(get: Callable[[], Any]) -> Any:
    """The registry answer, or None when the model or version does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return get()
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None


def load_risk_model(resolved: ResolvedModel) -> Any:
    """Download the version, check its checksum and return the RiskModel inside its pyfunc."""
    import mlflow.artifacts
    import mlflow.pyfunc

    expected = resolved.tags.get(CHECKSUM_TAG)
    if not expected:
        raise ValueError(ERR_NO_CHECKSUM.format(name=resolved.name, version=resolved.version, tag=CHECKSUM_TAG))
    with tempfile.TemporaryDirectory(prefix="svrisk-score-") as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{resolved.name}/{resolved.version}", dst_path=tmp
            )
        )
        actual = artifact_sha256(local)
        if actual != expected:
            raise ValueError(
                ERR_CHECKSUM.format(
                    name=resolved.name, version=resolved.version, actual=actual, expected=expected, tag=CHECKSUM_TAG
                )
            )
        loaded = mlflow.pyfunc.load_model(str(local))
        return loaded.unwrap_python_model().risk_model


def extract_for_people(extract: Extract, person_ids: pd.Series) -> Extract:
    """The extract restricted to the records of ``person_ids`` (row order and dtypes kept)."""
    wanted = pd.Index(pd.unique(person_ids.to_numpy(dtype=object)))
    tables = {
        name: frame[frame["person_id"].isin(wanted)].reset_index(drop=True)
        for name, frame in extract.tables.items()
    }
    return dataclasses.replace(extract, tables=tables)


def score_extract(
    risk_model: Any,
    extract: Extract,
    cohort: pd.DataFrame,
    *,
    model_version: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    top_k: int = 5,
    on_chunk: Callable[[int], None] | None = None,
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

    Returns
    -------
    DataFrame
        ``OUTPUT_COLUMNS`` (plus referral_source for referrals), in cohort order;
        top_raising and top_lowering are JSON text lists of factors.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(ERR_CHUNK.format(value=chunk_size))
    if len(cohort) == 0:
        raise ValueError(ERR_EMPTY_COHORT)
    cohort = cohort.reset_index(drop=True)
    parts = []
    for start in range(0, len(cohort), chunk_size):
        chunk = cohort.iloc[start : start + chunk_size].reset_index(drop=True)
        scored = risk_model.score(extract_for_people(extract, chunk["person_id"]), chunk, top_k=top_k)
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
