"""Schemathesis over the running service's OpenAPI document: generated requests never get a 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
MIN_REQUESTS = 1000
ACCESS_LINE = re.compile(r"\(scheme=http,method=\w+,path=[^,]*,.*?\(status=(\d{3})")


# Each valid scoring request runs the whole model, so the scoring operations get few fuzzed
# examples and negative-only coverage cases; the cheap operations make up the count.
CONFIG = """
[generation]
max-examples = 250

[[operations]]
include-path = "/score"
generation.max-examples = 12
phases.coverage.generation.mode = "negative"

[[operations]]
include-path = "/score_batch"
generation.max-examples = 5
phases.coverage.generation.mode = "negative"
"""


def test_serving_schemathesis_finds_no_server_error(served, tmp_path: Path) -> None:
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    logged_before = len(ACCESS_LINE.findall(served.server.log_text()))
    done = subprocess.run(
        [
            SCHEMATHESIS, "--no-color", "--config-file", str(tmp_path / "schemathesis.toml"),
            "run", served.url + "/docs.json",
            "-H", f"X-API-Key: {served.keys['admin']}",
            "--checks", "not_a_server_error",
            "--seed", "20240401",
            "--report", "ndjson", "--report-dir", str(tmp_path),
            "--request-timeout", "60",
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    generated = re.search(r"(\d+) generated", done.stdout)
    assert generated is not None, done.stdout[-2000:]
    assert int(generated.group(1)) >= MIN_REQUESTS
    statuses = ACCESS_LINE.findall(served.server.log_text())[logged_before:]
    assert len(statuses) >= MIN_REQUESTS * 0.9  # health and metrics calls are not access-logged
    assert not [s for s in statuses if s.startswith("5")]
