"""What the service records for monitoring: audit attributes per scoring (never records) and Prometheus counters."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from prometheus_client import REGISTRY

from features.single_case import SingleCase
from serving.audit_trail import AUDIT_ATTRIBUTE_COLUMNS, AuditTrail, ScoreRow, case_audit_attributes
from serving.metrics import count_refused, count_review, count_scores


def _case(person_id: str, birth_month: str, **person) -> SingleCase:
    return SingleCase.model_validate({"as_of": "2024-04-01", "person": {
        "person_id": person_id, "birth_month": birth_month, "sex": "male", "ethnicity": "black", "imd_decile": 3,
        "sen": "none", "local_authority": "coventry", **person}})


def test_audit_attributes_come_from_the_feature_builders_audit_columns():
    rows = case_audit_attributes([_case("p1", "2008-05-01"),
                                  _case("p2", "2012-05-01", sex="female", imd_decile=None, sen="ehcp")])
    assert rows == [
        {"sex": "male", "ethnicity": "black", "age_band": "14-15", "sen": "none", "local_authority": "coventry",
         "imd_decile": 3},
        {"sex": "female", "ethnicity": "black", "age_band": "10-13", "sen": "ehcp", "local_authority": "coventry",
         "imd_decile": None},
    ]
    assert set(rows[0]) == set(AUDIT_ATTRIBUTE_COLUMNS)


def test_an_older_trail_gains_the_attribute_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE score_audit (audit_id VARCHAR(36) PRIMARY KEY, created_at DATETIME NOT NULL, "
            "caller VARCHAR(200) NOT NULL, role VARCHAR(40) NOT NULL, person_id VARCHAR(200) NOT NULL, "
            "as_of DATE NOT NULL, model_version VARCHAR(40) NOT NULL, probability FLOAT NOT NULL, "
            "band INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO score_audit VALUES ('old', '2024-01-01 00:00:00', 'k', 'admin', 'p0', "
                             "'2024-01-01', '1', 0.1, 2)")
    engine.dispose()
    trail = AuditTrail(url)
    trail.create_schema()
    trail.create_schema()  # twice: nothing to add the second time
    now = dt.datetime.now(dt.UTC)
    trail.append_scores([ScoreRow("new", now, "k", "practitioner", "p1", dt.date(2024, 4, 1), "1", 0.2, 5,
                                  **case_audit_attributes([_case("p1", "2008-05-01")])[0])])
    rows = {r["audit_id"]: r for r in trail.scorings()}
    trail.dispose()
    assert all(rows["old"][c] is None for c in AUDIT_ATTRIBUTE_COLUMNS)
    assert rows["new"]["ethnicity"] == "black" and rows["new"]["age_band"] == "14-15"


def test_prometheus_counters():
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (value("svrisk_scores_total", band="7"), value("svrisk_reviews_total", decision="escalate"),
              value("svrisk_refused_requests_total", status="401"))
    count_scores([7, 7, 3])
    count_review("escalate")
    count_refused(401)
    after = (value("svrisk_scores_total", band="7"), value("svrisk_reviews_total", decision="escalate"),
             value("svrisk_refused_requests_total", status="401"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2.0, 1.0, 1.0]
