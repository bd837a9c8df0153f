"""`svrisk audit` on score files, and the HTML report parsed back."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairness.audit import run_audit
from svrisk.cli import app
from fairness.policy import load_policy
from fairness.report import ModelCard, Verdict, build_report

runner = CliRunner()


class _Outline(HTMLParser):
    """Collects section ids in order, headings, image sources and every link-like URL."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "id" in attrs:
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "table":
            self.tables += 1
        for key in ("href", "src"):
            if key in attrs and not attrs[key].startswith("data:"):
                self.urls.append(attrs[key])

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def _outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def _scores(n: int = 3000, seed: int = 1, biased: float = 1.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ethnicity = rng.choice(["white", "black", "asian", "mixed", "other"], n, p=[0.6, 0.17, 0.15, 0.065, 0.015])
    risk = rng.beta(1.2, 12, n)
    return pd.DataFrame({
        "risk": np.clip(risk * np.where(ethnicity == "black", biased, 1.0), 0, 1),
        "outcome": (rng.random(n) < risk).astype(int),
        "sex": rng.choice(["male", "female"], n),
        "ethnicity": ethnicity,
        "sen": rng.choice(["none", "sen_support", "ehcp"], n, p=[0.8, 0.15, 0.05]),
    })


@pytest.fixture
def scores_csv(tmp_path):
    path = tmp_path / "scores.csv"
    _scores().to_csv(path, index=False)
    return path


def _args(path, out, *extra):
    return [
        "audit", "--scores", str(path), "--score-col", "risk", "--label-col", "outcome",
        "--group-col", "sex", "--group-col", "ethnicity", "--threshold", "0.1", "--threshold", "0.2",
        "--out", str(out), "--resamples", "100", *extra,
    ]


@pytest.mark.slow
def test_fairness_cli_audit_writes_rows_and_report(scores_csv, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, _args(scores_csv, out))
    assert result.exit_code == 1, result.output  # a FAIL is a finding: exit 1, with the report written
    assert "wrote" in result.output and result.output.startswith("FAIL")
    document = json.loads((out / "audit.json").read_text())
    rows = document["rows"]
    # 2 sexes + 5 ethnicities + the policy's sex x ethnicity intersection (10), at 2 thresholds.
    assert {r["attribute"] for r in rows} == {"sex", "ethnicity", "sex x ethnicity"}
    assert len(rows) == (2 + 5 + 10) * 2
    required = {"attribute", "group", "threshold", "count", "selection_rate", "tpr", "fpr", "fnr", "precision",
                "selection_rate_ratio", "tpr_ratio", "fpr_ratio", "fnr_ratio", "precision_ratio"}
    assert required <= set(rows[0])
    # Scores inflated 1.8x for one group: its false positive rate ratio against white fails.
    failed = {(c["attribute"], c["group"], c["metric"]) for c in document["checks"] if c["status"] == "fail"}
    assert ("ethnicity", "black", "fpr_ratio") in failed
    assert document["verdict"]["headline"].startswith("FAIL:") and document["verdict"]["verdict"] == "FAIL"
    # The "other" group (about 45 people) is listed as too small, and none of its checks is judged.
    assert any(t["group"] == "other" for t in document["too_small"])
    assert {c["status"] for c in document["checks"] if c["group"] == "other"} == {"too_small"}
    html = (out / "report.html").read_text()
    outline = _outline(html)
    assert outline.sections[0] == "verdict"  # the verdict comes first
    assert outline.urls == []  # self-contained: no external file or URL
    assert outline.images and all(src.startswith("data:image/png;base64,") for src in outline.images)
    assert "@media print" in html


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns="ethnicity"), "column 'ethnicity' is not in the scores"),
        (lambda f: f.assign(risk=["high"] + list(f["risk"].iloc[1:])), "must be numeric; row 1 holds 'high'"),
        (lambda f: f.assign(outcome=[3] + list(f["outcome"].iloc[1:])), "only 0 and 1; row 1 holds 3"),
        (lambda f: f.iloc[:0], "no rows"),
    ],
)
def test_fairness_cli_audit_bad_input_exits_2(tmp_path, mutate, message):
    path = tmp_path / "bad.csv"
    mutate(_scores(n=200)).to_csv(path, index=False)
    result = runner.invoke(app, _args(path, tmp_path / "out"))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_fairness_cli_audit_missing_and_blank_files(tmp_path):
    result = runner.invoke(app, _args(tmp_path / "none.csv", tmp_path / "out"))
    assert result.exit_code == 2 and "not found" in result.output
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    result = runner.invoke(app, _args(blank, tmp_path / "out"))
    assert result.exit_code == 2 and "is empty" in result.output
    result = runner.invoke(app, ["audit", "--scores", str(blank)])
    assert result.exit_code == 2  # usage error: required options missing


def test_fairness_report_states_checks_in_plain_english_and_label_bias():
    frame = _scores(n=2500, seed=4)
    rng = np.random.default_rng(5)
    # "True" outcomes without the recording difference: fewer recorded positives for everyone else.
    frame["true_outcome"] = np.where(rng.random(len(frame)) < 0.5, frame["outcome"], 0)
    policy = load_policy()
    recorded = run_audit(frame, score_col="risk", label_col="outcome", group_cols=["ethnicity"],
                         thresholds=[0.1], policy=policy, resamples=50)
    truth = run_audit(frame, score_col="risk", label_col="true_outcome", group_cols=["ethnicity"],
                      thresholds=[0.1], policy=policy, resamples=50)
    by_group = pd.DataFrame({
        "attribute": ["ethnicity"] * 4, "group": ["black", "black", "white", "white"], "n": [400, 400, 1500, 1500],
        "mean_probability": [0.1, 0.1, 0.07, 0.07], "family": ["police", "school"] * 2,
        "mean_contribution": [0.02, -0.01, 0.005, 0.0], "mean_abs_contribution": [0.03, 0.01, 0.01, 0.002],
    })
    card = ModelCard(title="svrisk version 3", subject="test", outcome="Serious violence in 365 days.",
                     performance=[{"score": "probability", "auc": 0.81, "ece": 0.004}])
    verdict = Verdict(published=False)
    html, document = build_report(recorded, card=card, verdict=verdict, truth=truth,
                                  explanations_by_group=by_group, charts=False)
    outline = _outline(html)
    assert outline.sections == ["verdict", "scope", "model-card", "explained-checks", "too-small", "power",
                                "groups", "label-bias", "explanations"]
    text = " ".join(outline.text)
    assert "REFUSED" in text
    assert "prioritise which young people's records a practitioner reviews" in text
    assert "Among people with no recorded outcome, those in the black group were flagged" in text
    assert "This fails the policy, which allows [0.8, 1.25]" in text
    paragraphs = document["paragraphs"]
    assert paragraphs and all(p["status"] in ("fail", "borderline") for p in paragraphs)
    assert len(paragraphs) == len(recorded.failed) + len(recorded.borderline)
    assert document["label_bias"][0].keys() >= {"fpr_recorded", "fpr_true", "base_rate_recorded", "base_rate_true"}
    assert "+2.00" in text  # police family raises the black group's scores by 2 points
    json.dumps(document, allow_nan=False)


def _numbers(text: str) -> list[str]:
    import re

    return re.findall(r"\d+\.\d+", text)


@pytest.fixture(scope="module")
def report_pair():
    """An audit's HTML report (without charts) and its JSON document."""
    frame = _scores(n=2500, seed=4)
    recorded = run_audit(frame, score_col="risk", label_col="outcome", group_cols=["ethnicity", "sex"],
                         thresholds=[0.1, 0.2], policy=load_policy(), resamples=40)
    card = ModelCard(title="t", subject="s", performance=[{"score": "probability", "auc": 0.81, "ece": 0.004}])
    html, document = build_report(recorded, card=card, verdict=Verdict(published=False), charts=False)
    return html, document


def test_fairness_report_html_is_rendered_from_the_json_document_alone(report_pair):
    from fairness.report import render_html

    html, document = report_pair
    # The document as written to audit.json, read back, renders exactly the same HTML: the HTML has no
    # source but the JSON, so the two cannot drift apart.
    reread = json.loads(json.dumps(document, allow_nan=False))
    assert render_html(reread, charts=False) == html


def _formatted_figures(document) -> set[str]:
    """Every way the report formats a number, applied to every number in the JSON document."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            v = float(value)
            for scaled in (v, v * 100):
                for fmt in (".0f", ".1f", "+.1f", ".2f", "+.2f", ".3f", ".4f", "g", ",.0f"):
                    found.add(format(scaled, fmt).lstrip("+-"))
            return
        if isinstance(value, str):
            found.update(_numbers(value))
            return
        for item in value.values() if isinstance(value, dict) else value:
            walk(item)

    walk(document)
    return found


def test_fairness_report_every_figure_in_the_html_comes_from_the_json(report_pair):
    html, document = report_pair
    import re

    body = re.sub(r"<style>.*?</style>", "", html, flags=re.S)  # the stylesheet's sizes are not figures
    figures = _numbers(" ".join(_outline(body).text))
    assert len(figures) > 200
    missing = sorted(set(figures) - _formatted_figures(document))
    assert missing == []
