"""The one writer of an audit's files: the gate and the score-file audit both call it."""

from __future__ import annotations

import inspect
import json

import pytest

from fairness import gate, score_file_audit
from fairness.report import write_report_files


def test_fairness_report_files_written_together(tmp_path):
    document = {"verdict": {"verdict": "PASS"}, "rate": 0.25}
    json_path, html_path = write_report_files(tmp_path / "new" / "dir", "<html>é</html>", document)

    assert (json_path.name, html_path.name) == ("audit.json", "report.html")
    assert json.loads(json_path.read_text(encoding="utf-8")) == document
    assert html_path.read_text(encoding="utf-8") == "<html>é</html>"


def test_fairness_report_files_refuse_nan(tmp_path):
    # audit.json is strict JSON: a NaN is a bug upstream, not a value to write.
    with pytest.raises(ValueError):
        write_report_files(tmp_path, "<html></html>", {"rate": float("nan")})


def test_fairness_report_files_one_writer_for_both_audits():
    for module in (gate, score_file_audit):
        source = inspect.getsource(module)
        assert "write_report_files(" in source
        assert '"audit.json"' not in source
