"""The pyfunc scores a batch of raw cases in one pass with the same result as one case at a time."""

from __future__ import annotations

import pandas as pd
import pytest

AS_OF = "2024-04-01"


@pytest.fixture(scope="module")
def case_texts(pipeline_model) -> list[str]:
    from features.cohort import snapshot_cohort
    from features.single_case import cases_from_extract

    cohort = snapshot_cohort(pipeline_model.extract, [AS_OF]).iloc[:6]
    return [case.model_dump_json() for case in cases_from_extract(pipeline_model.extract, cohort)]


def test_batch_equals_cases_one_by_one(pipeline_model, case_texts):
    from runtime.pyfunc_model import CASE_COLUMN, score_cases

    risk = pipeline_model.risk_model
    # The first case repeated: a person twice in one batch is scored in a second round.
    texts = [*case_texts, case_texts[0]]
    batch = score_cases(risk, pd.DataFrame({CASE_COLUMN: texts}))
    one_by_one = pd.concat(
        [score_cases(risk, pd.DataFrame({CASE_COLUMN: [text]})) for text in texts], ignore_index=True
    )
    pd.testing.assert_frame_equal(batch, one_by_one, check_exact=False, rtol=0, atol=1e-12)
    assert batch["explanation"].tolist() == one_by_one["explanation"].tolist()
    assert batch["absolute_risk"].tolist() == one_by_one["absolute_risk"].tolist()
    assert batch["person_id"].iloc[-1] == batch["person_id"].iloc[0]


def test_a_case_that_does_not_parse_is_named_by_position(pipeline_model, case_texts):
    from pydantic import ValidationError

    from runtime.pyfunc_model import CASE_COLUMN, score_cases

    broken = case_texts[1].replace('"as_of":"', '"as_of":"x', 1)
    with pytest.raises(ValidationError) as caught:
        score_cases(pipeline_model.risk_model, pd.DataFrame({CASE_COLUMN: [case_texts[0], broken]}))
    assert "in case 1 of the input" in "".join(caught.value.__notes__)


def test_rounds_keep_each_person_once_per_round():
    from runtime.pyfunc_model import _rounds_by_person

    assert _rounds_by_person(["a", "b", "c"]) == [[0, 1, 2]]
    assert _rounds_by_person(["a", "b", "a", "a", "c"]) == [[0, 1, 4], [2], [3]]


def test_a_case_outside_the_ages_is_refused_naming_the_age(pipeline_model, case_texts):
    """Contract 1.1, "Who may be scored": the pyfunc refuses a person aged outside 10-24."""
    import json

    from extract.loader import ExtractValidationError
    from features.single_case import AGE_OUT_OF_RANGE
    from runtime.pyfunc_model import CASE_COLUMN, score_cases

    case = json.loads(case_texts[1])
    case["person"]["birth_month"] = "2015-01-01"  # 9 on 2024-04-01
    with pytest.raises(ExtractValidationError) as caught:
        score_cases(pipeline_model.risk_model,
                    pd.DataFrame({CASE_COLUMN: [case_texts[0], json.dumps(case)]}))
    assert [v.problem for v in caught.value.violations] == [AGE_OUT_OF_RANGE.format(age=9, low=10, high=24)]
    assert caught.value.violations[0].row == 2  # the second case's people row
