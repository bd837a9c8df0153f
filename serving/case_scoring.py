"""Score, explain and audit validated cases: the one step behind ``POST /score``,
``POST /score_batch`` and the practitioners' workspace, so their numbers are equal by
construction.

The request models live here too (``CaseInput`` is what every entry point validates
against, so the workspace's form reports problems in the words of the API's 422).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from extract.loader import ExtractValidationError
from features.single_case import SingleCase, case_to_extract
from serving.api_keys import Principal
from serving.audit_availability import record_scores
from serving.audit_trail import AuditTrail, ScoreRow, case_audit_attributes, new_audit_id, utc_now
from serving.errors import InvalidCase
from serving.metrics import count_refused, count_scores
from serving.risk_bands import band_sentence
from runtime.pyfunc_model import score_parsed_cases

NOTICE = "For practitioner review. This score does not make a decision."
ERR_BEFORE_BIRTH = "as_of: before person.birth_month (the person was not yet born)"
# Service path: no record value in a response or a log (issue 21), so not the dates themselves.
ERR_AS_OF_IN_FUTURE = "as_of: after today; a case is scored on or before today"
# The loader's problems end with the values they compare, in brackets, e.g.
# "end_on is before start_on (2021-03-01)"; the service drops that tail.
VALUES_IN_BRACKETS = re.compile(r"\s*\([^()]*\)\s*$")
ERR_CASE = "{where}{table}{column}{row}: {problem}"


class CaseInput(SingleCase):
    """One case in the single-case format: the person's people row, their records, and as_of."""

    # Validation errors are logged by BentoML; never with the case's values.
    model_config = ConfigDict(hide_input_in_errors=True)

    @model_validator(mode="after")
    def _as_of_plausible(self) -> CaseInput:
        # Checked here so the 4xx names the field; the single-case path refuses the same.
        today = utc_now().date()
        if self.as_of > today:
            raise ValueError(ERR_AS_OF_IN_FUTURE)
        if self.as_of < self.person.birth_month:
            raise ValueError(ERR_BEFORE_BIRTH)
        return self


class Factor(BaseModel):
    """One feature of a group: the detail behind the group's sentence."""

    feature: str = Field(..., description="Feature name (see the feature dictionary).")
    value: float | str | None = Field(None, description="The person's value of the feature.")
    sentence: str = Field(..., description="The feature in plain English with the person's value.")
    contribution: float = Field(..., description="Change in probability (probability points).")


class FactorGroup(BaseModel):
    """One concept (a group of features) that moved this case's probability."""

    group: str = Field(..., description="Group name (see the feature dictionary's groups).")
    family: str = Field(..., description="ace, trauma, school, police, health or context.")
    modifiable: bool = Field(..., description="Whether a service could work on it (not fixed or past).")
    sentence: str = Field(..., description="The concept in plain English with the person's values.")
    contribution: float = Field(..., description="Change in probability (probability points), its features summed.")
    features: list[Factor] = Field(..., description="The group's features that moved the score.")


class Explanation(BaseModel):
    base_value: float = Field(..., description="Probability of a typical case; factors add to it.")
    raising: list[FactorGroup] = Field(..., description="Top groups raising the probability.")
    lowering: list[FactorGroup] = Field(..., description="Top groups lowering the probability.")
    support_could_address: list[FactorGroup] = Field(
        ..., description="Modifiable groups that raised the probability: factors that support could address."
    )
    other_factors: str = Field(..., description="How little the groups not listed moved the score.")


class AbsoluteRisk(BaseModel):
    """The probability as a natural frequency (runtime.risk_language.natural_frequency)."""

    count: int = Field(..., description="Young people out of `denominator` recorded as involved.")
    denominator: int = Field(..., description="100, 1,000 or 10,000.")
    not_involved: int = Field(..., description="The others out of `denominator`.")
    sentence: str = Field(..., description="The same in words.")


class ScoredCase(BaseModel):
    """A scored, explained case."""

    model_config = ConfigDict(protected_namespaces=())

    person_id: str = Field(..., description="The pseudonymised person_id of the case.")
    as_of: dt.date = Field(..., description="The date the case was scored at.")
    probability: float = Field(..., description="Calibrated probability of the outcome.")
    absolute_risk: AbsoluteRisk = Field(..., description="The probability as a natural frequency.")
    band: int = Field(..., ge=1, le=10, description="Band 1 to 10: the tenth of the reference population (a ranking).")
    band_sentence: str = Field(..., description="The band in words, relative to the reference population.")
    percentile: float = Field(..., description="Percent of the reference population at or below.")
    explanation: Explanation = Field(..., description="Groups raising and lowering, and what support could address.")
    model_version: str = Field(..., description="Registered version of the svrisk model.")
    audit_id: str = Field(..., description="Identifier of this scoring in the audit trail.")
    notice: str = Field(NOTICE, description="How to use the score.")


@dataclass(frozen=True)
class CaseProblem:
    """One contract violation of a case: where (table, record row, column) and what."""

    table: str
    column: str | None
    row: int | None
    problem: str


class CaseRefused(InvalidCase):
    """:class:`InvalidCase` (422) that also carries each problem, for the workspace's form."""

    def __init__(self, message: str, problems: list[CaseProblem]) -> None:
        super().__init__(message)
        self.problems = problems


def score_and_audit(
    model: Any, audit: AuditTrail, cases: list[SingleCase], principal: Principal
) -> list[ScoredCase]:
    """Score and explain validated cases with the served model and append one audit row each.

    ``model`` is the :class:`serving.model_loader.ServedModel`. Raises
    :class:`CaseRefused` (422) when a case breaks the data contract, and
    :class:`serving.errors.AuditUnavailable` (503) when the audit trail cannot take
    the rows; nothing is recorded or returned then.
    """
    scoring = _score_cases(model, cases, principal)
    record_scores(audit, scoring.rows)
    return scoring.answers()


async def score_and_audit_on_loop(
    model: Any, audit: AuditTrail, cases: list[SingleCase], principal: Principal
) -> list[ScoredCase]:
    """:func:`score_and_audit` for a caller on the event loop: the scoring stays on the loop
    (a few ms of CPU with nothing to await), and so does the audit commit when the trail's
    write lock is free at once (a hop to a thread cost about 0.8 ms a call in
    benchmarks/serve.py). When another writer holds it, or the store is not SQLite, the
    commit waits in a thread: a locked or slow database holds up this request, not the
    worker's other requests and probes.
    """
    from starlette.concurrency import run_in_threadpool

    scoring = _score_cases(model, cases, principal)
    if not record_scores(audit, scoring.rows, wait=False):
        await run_in_threadpool(record_scores, audit, scoring.rows)
    return scoring.answers()


@dataclass(frozen=True)
class _Scoring:
    """Scored cases before they are recorded: their audit rows, and what the answer needs."""

    model: Any
    rows: list[ScoreRow]
    percentiles: Any
    explanations: list[str]

    def answers(self) -> list[ScoredCase]:
        # Counted once recorded: the metric counts scores given, never an unaudited one.
        count_scores([row.band for row in self.rows])
        return [
            ScoredCase(
                person_id=row.person_id,
                as_of=row.as_of,
                probability=row.probability,
                absolute_risk=self.model.risk_model.absolute_risk(row.probability),
                band=row.band,
                band_sentence=band_sentence(row.band, self.percentiles[i]),
                percentile=float(self.percentiles[i]),
                explanation=Explanation.model_validate_json(self.explanations[i]),
                model_version=row.model_version,
                audit_id=row.audit_id,
            )
            for i, row in enumerate(self.rows)
        ]


def _score_cases(model: Any, cases: list[SingleCase], principal: Principal) -> _Scoring:
    # The logged pyfunc's own scoring, on its loaded RiskModel, given the already
    # validated cases: MLflow's signature check, a JSON round trip and frames in and
    # out would only repeat the request's validation (CaseInput is stricter than the
    # signature), at a few milliseconds a call.
    try:
        out = score_parsed_cases(model.risk_model, cases)
    except ExtractValidationError as exc:
        count_refused(CaseRefused.error_code)
        # `from None`: the original message quotes record values and would reach the log.
        raise _refusal(cases, exc) from None
    probability = out["probability"].astype("float64")
    bands = model.bands.band(probability)
    percentiles = model.risk_model.percentile(probability)
    # Equality monitoring (docs/data-protection.md): who was scored, never their records.
    attributes = case_audit_attributes(cases)
    now = utc_now()
    rows = [
        ScoreRow(
            audit_id=new_audit_id(),
            created_at=now,
            caller=principal.name,
            role=principal.role,
            person_id=str(out["person_id"][i]),
            as_of=dt.date.fromisoformat(str(out["as_of"][i])),
            model_version=model.version,
            probability=float(probability[i]),
            band=int(bands[i]),
            **attributes[i],
        )
        for i in range(len(probability))
    ]
    return _Scoring(model, rows, percentiles, list(out["explanation"]))


def _refusal(cases: list[SingleCase], exc: ExtractValidationError) -> CaseRefused:
    """Name the case (in a batch), table, column and row of each violation, never its value."""
    if len(cases) == 1:
        return CaseRefused(_describe(exc, ""), _problems(exc))
    for index, case in enumerate(cases):
        try:
            case_to_extract(case)
        except ExtractValidationError as found:
            return CaseRefused(_describe(found, f"cases[{index}]."), _problems(found))
    return CaseRefused(_describe(exc, "cases: "), _problems(exc))


def _problems(exc: ExtractValidationError) -> list[CaseProblem]:
    # The loader counts rows from 1 after the header; a case's records count from 0.
    return [
        CaseProblem(v.table, v.column, v.row - 1 if v.row is not None else None,
                    VALUES_IN_BRACKETS.sub("", v.problem))
        for v in exc.violations
    ]


def _describe(exc: ExtractValidationError, where: str) -> str:
    return "; ".join(
        ERR_CASE.format(
            where=where,
            table=p.table,
            column=f".{p.column}" if p.column else "",
            row=f"[{p.row}]" if p.row is not None else "",
            problem=p.problem,
        )
        for p in _problems(exc)
    )
