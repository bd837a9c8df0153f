"""The numpy screen of the pandera schemas: it may skip pandera only when pandera finds nothing."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pytest

from extract.schemas import schema_may_fail, table_schema


def parsed_people() -> pd.DataFrame:
    """A parsed (pre-canonical) people table, as the loader hands it to the schema."""
    text = lambda values: pd.Series(pd.Categorical(values, categories=sorted(set(values))))  # noqa: E731
    return pd.DataFrame({
        "person_id": text(["p1", "p2"]),
        "birth_month": pd.Series(pd.to_datetime(["2008-03-01", "2010-11-01"])).astype("datetime64[ns]"),
        "sex": text(["male", "female"]),
        "ethnicity": text(["white", "asian"]),
        "imd_decile": pd.Series([2.0, float("nan")]),
        "sen": text(["none", "ehcp"]),
        "local_authority": text(["coventry", "walsall"]),
        "area_code": pd.Series(pd.Categorical(["E01009876", None])),
    })


def pandera_fails(frame: pd.DataFrame) -> bool:
    try:
        table_schema("people").validate(frame, lazy=True)
    except pandera.errors.SchemaErrors:
        return True
    return False


def test_a_valid_table_skips_pandera_and_pandera_agrees():
    frame = parsed_people()
    assert not schema_may_fail("people", dict(frame.items()))
    assert not pandera_fails(frame)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(imd_decile=[11.0, 1.0]),
        lambda f: f.assign(imd_decile=[0.0, 1.0]),
        lambda f: f.assign(birth_month=pd.Series(pd.to_datetime(["2008-03-02", "2010-11-01"])).astype("datetime64[ns]")),
        lambda f: f.assign(sex=pd.Series(pd.Categorical(["male", "m"]))),
        lambda f: f.assign(sen=pd.Series(pd.Categorical(["none", None]))),
        lambda f: f.assign(birth_month=pd.Series(pd.to_datetime(["2008-03-01", None])).astype("datetime64[ns]")),
        lambda f: f.assign(imd_decile=pd.Series(pd.Categorical(["1", "2"]))),
        lambda f: f.drop(columns="sen"),
        lambda f: f.assign(nickname=pd.Series(pd.Categorical(["a", "b"]))),
    ],
    ids=["above maximum", "below minimum", "not first of month", "unknown category", "missing category",
         "missing date", "wrong dtype", "missing column", "extra column"],
)
def test_anything_pandera_would_report_sends_the_table_to_pandera(change):
    frame = change(parsed_people())
    assert pandera_fails(frame)
    assert schema_may_fail("people", dict(frame.items()))
