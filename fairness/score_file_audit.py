"""Audit a score file: read another tool's (or a past model's) scores, audit them and write the report.

``svrisk audit`` is a thin command over :func:`audit_score_file`; notebook 03
calls it directly to audit the candidate's test predictions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fairness.audit import policy_attribute, run_audit
from fairness.policy import intersection_name, load_policy
from fairness.report import ModelCard, Verdict, build_report, write_report_files

SCORES_NOT_FOUND = "score file not found: {path}"
SCORES_UNREADABLE = "cannot read the score file {path}: {error}"
SCORES_EMPTY = "the score file {path} is empty"


def audit_score_file(
    scores: Path,
    *,
    score_col: str,
    label_col: str,
    group_cols: list[str],
    thresholds: list[float],
    out: Path,
    policy_path: Path | None = None,
    resamples: int | None = None,
    references: dict[str, str] | None = None,
    attribute_map: dict[str, str] | None = None,
    score_kind: str = "auto",
    replicate_sums=None,
) -> tuple[list[Path], dict]:
    """Read a score CSV (or Parquet file, or folder of Parquet parts), audit it and write
    ``audit.json`` and ``report.html`` into ``out``. ``replicate_sums`` is
    :func:`fairness.audit.run_audit`'s (the bootstrap on a cluster).

    Returns the paths written and the JSON document.

    Raises
    ------
    ValueError
        On a missing or unreadable file, or any problem :func:`fairness.audit.run_audit` names.
    """
    chosen = load_policy(policy_path)
    if not scores.is_file() and not (scores.is_dir() and scores.suffix.lower() == ".parquet"):
        raise ValueError(SCORES_NOT_FOUND.format(path=scores))
    try:
        # Parquet: one file, or `svrisk score --engine dask`'s folder of parts (read as one frame).
        frame = pd.read_parquet(scores) if scores.suffix.lower() == ".parquet" else pd.read_csv(scores)
    except pd.errors.EmptyDataError:
        raise ValueError(SCORES_EMPTY.format(path=scores)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(SCORES_UNREADABLE.format(path=scores, error=error)) from error
    mapping = attribute_map or {}
    names = list(dict.fromkeys(group_cols))
    as_policy = {policy_attribute(n, mapping): n for n in names}
    for pair in chosen.groups.intersections:
        if all(part in as_policy for part in pair):
            names.append(intersection_name([as_policy[part] for part in pair]))
    result = run_audit(
        frame, score_col=score_col, label_col=label_col, group_cols=names,
        thresholds=thresholds, policy=chosen, resamples=resamples,
        references=references, attribute_map=mapping, score_kind=score_kind, replicate_sums=replicate_sums,
    )
    card = ModelCard(
        title="Fairness audit of a score file",
        subject=f"{scores.name}: score {score_col!r} ({result.score_kind}), outcome {label_col!r}, {len(frame):,} rows",
        data=[("score file", str(scores.resolve())), ("rows", f"{len(frame):,}"),
              ("base rate", f"{frame[label_col].mean():.2%}"), ("score kind", result.score_kind)],
    )
    verdict = Verdict(published=False, publishing=False,
                      note="An audit of a score file: nothing is published; the verdict says whether "
                      "these scores would pass the policy's gated checks.")
    html, document = build_report(result, card=card, verdict=verdict)
    return list(write_report_files(out, html, document)), document
