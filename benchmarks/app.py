"""Benchmark: the workspace's result page for one case, scoring included, rendered server-side.

Builds the workspace in this process over the registry's champion
(MLFLOW_TRACKING_URI, else the embedded store under SVRISK_HOME), signs in and
posts the model's logged input example through the new-case form, following
the redirect to the result page: the time covers validation, scoring,
explaining, the audit row and rendering. It is taken three ways: wall clock
as the test client sees it (which adds its own threads and portals), and
inside the app (an ASGI wrapper around the workspace, summed over the POST and
the redirected GET) in wall clock and in CPU time of the thread serving it,
which other work on a shared machine disturbs less. Then every page's size,
and axe-core in Debian's Chromium on every page (served on 127.0.0.1 by uvicorn).
Targets (issue 14): p50 < 30 ms, p95 < 60 ms, each page < 200 kB, axe violations 0.

    .venv/bin/python -m benchmarks.app --repeats 200 --out benchmarks/results/app.json

The champion's signed verdict is checked with SVRISK_VERIFY_KEY_FILE (after
`make demo`: ``demo/keys/svrisk-signing.pub``), as in the service.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--score-file", type=Path, default=None, help="A `svrisk score` output for the caseload page.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from serving.api_keys import hash_key, new_key
    from serving.audit_trail import AuditTrail
    from serving.model_loader import load_served_model
    from serving.settings import ServingSettings
    from serving.workspace.app import Workspace, build_workspace_app
    from serving.workspace.case_form import from_case

    tmp = Path(tempfile.mkdtemp(prefix="svrisk-app-bench-"))
    key = new_key()
    os.environ["SVRISK_AUDIT_DB"] = f"sqlite:///{tmp / 'audit.db'}"
    os.environ["SVRISK_API_KEYS"] = json.dumps([{"name": "bench", "role": "admin", "sha256": hash_key(key)}])
    settings = ServingSettings.from_env()
    model = load_served_model(settings)
    audit = AuditTrail(settings.audit_db)
    audit.create_schema()
    workspace = Workspace(settings, model, audit)
    _EXAMPLE["case"] = model.example_case
    clock = _ServerClock(build_workspace_app(lambda: workspace))
    app = Starlette(routes=[Mount("/app", app=clock)])
    client = TestClient(app)
    client.post("/app/signin", data={"csrf_token": _token(client.get("/app/signin").text), "api_key": key})
    token = _token(client.get("/app/").text)
    form = from_case(model.example_case)
    fields = {**form.values, **{f"{t}-rows": str(n) for t, n in form.rows.items()}, "csrf_token": token, "action": "score"}

    load_start = os.getloadavg()[0]
    times, server_wall, server_cpu = [], [], []
    result_url = None
    for i in range(args.repeats + 10):
        clock.wall.clear()
        clock.cpu.clear()
        start = time.perf_counter()
        response = client.post("/app/cases/new", data=fields)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200 and "/app/cases/" in str(response.url), response.text[:500]
        assert len(clock.wall) == 2  # the POST and the redirected GET
        result_url = str(response.url)
        if i >= 10:  # warm-up
            times.append(elapsed * 1000)
            server_wall.append(sum(clock.wall) * 1000)
            server_cpu.append(sum(clock.cpu) * 1000)

    # The scoring step alone (what POST /score runs), to separate the page's own cost.
    from serving.api_keys import Principal
    from serving.case_scoring import CaseInput, score_and_audit

    scoring, scoring_cpu = [], []
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        score_and_audit(model, audit, [CaseInput.model_validate(model.example_case)], Principal(name="bench", role="admin"))
        scoring.append((time.perf_counter() - start) * 1000)
        scoring_cpu.append((time.thread_time() - start_cpu) * 1000)

    pages = {"sign-in": "/app/signin", "start": "/app/", "new case": "/app/cases/new",
             "result": result_url.split("testserver")[1], "my reviews": "/app/reviews", "caseload": "/app/caseload"}  # fmt: skip
    if args.score_file is not None:
        with open(args.score_file, "rb") as handle:
            client.post("/app/caseload", data={"csrf_token": token, "source": "upload"},
                        files={"score_file": ("s.parquet", handle, "application/octet-stream")})  # fmt: skip
        pages["caseload case"] = "/app/caseload/1"
    sizes = {name: len(client.get(path).content) for name, path in pages.items()}
    axe = _axe_counts(app, key, pages, args.score_file)
    load1 = os.getloadavg()[0]  # other helpers share the 2 cores: report the load with the figures
    p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
    out = {
        "benchmark": "app",
        "repeats": args.repeats,
        "result_page_ms": {"p50": round(p50, 2), "p95": round(p95, 2), "max": round(max(times), 2)},
        "result_page_in_app_ms": _percentiles(server_wall),
        "result_page_in_app_cpu_ms": _percentiles(server_cpu),
        "scoring_alone_ms": _percentiles(scoring),
        "scoring_alone_cpu_ms": _percentiles(scoring_cpu),
        "page_minus_scoring_p50_ms": round(p50 - float(np.percentile(scoring, 50)), 2),
        "page_in_app_minus_scoring_p50_ms": round(
            float(np.percentile(server_wall, 50)) - float(np.percentile(scoring, 50)), 2),
        "page_in_app_minus_scoring_cpu_p50_ms": round(
            float(np.percentile(server_cpu, 50)) - float(np.percentile(scoring_cpu, 50)), 2),
        "page_bytes": sizes,
        "axe_violations": axe,
        "targets_met": {
            "p50_under_30ms": p50 < 30, "p95_under_60ms": p95 < 60,
            "in_app_p50_under_30ms": float(np.percentile(server_wall, 50)) < 30,
            "in_app_p95_under_60ms": float(np.percentile(server_wall, 95)) < 60,
            "pages_under_200kB": max(sizes.values()) < 200_000,
            "axe_violations_0": all(v == 0 for v in axe.values()),
        },
        "model_version": model.version,
        "load_average_1min": round(load1, 2),
        "load_average_1min_at_start": round(load_start, 2),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


def _percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


class _ServerClock:
    """ASGI wrapper: wall time and CPU time (of the thread serving it) of each request inside the app."""

    def __init__(self, app) -> None:
        self.app = app
        self.wall: list[float] = []
        self.cpu: list[float] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, start_cpu = time.perf_counter(), time.thread_time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.wall.append(time.perf_counter() - start)
            self.cpu.append(time.thread_time() - start_cpu)


def _axe_counts(app, key: str, pages: dict[str, str], score_file: Path | None) -> dict[str, int]:
    """axe-core violations per page in Chromium, the app served on 127.0.0.1 by uvicorn."""
    import uvicorn
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    counts = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(base + "/app/signin")
            counts["sign-in"] = Axe().run(page).violations_count
            page.fill("#api_key", key)
            with page.expect_navigation():
                page.keyboard.press("Enter")
            if score_file is not None:
                page.goto(base + "/app/caseload")
                page.set_input_files("#score_file", str(score_file))
                with page.expect_navigation():
                    page.click("button[value='upload']")
            for name, path in pages.items():
                if name == "sign-in":
                    continue
                if name == "result":
                    page.goto(base + "/app/cases/new")
                    page.set_input_files("#case_file", _example_file(app))
                    with page.expect_navigation():
                        page.click("form[action$='/upload'] button")
                else:
                    page.goto(base + path)
                counts[name] = Axe().run(page).violations_count
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return counts


def _example_file(app) -> str:
    path = Path(tempfile.mkdtemp(prefix="svrisk-app-bench-")) / "case.json"
    path.write_text(json.dumps(_EXAMPLE["case"]))
    return str(path)


# The served model's input example, set in main() for the browser's upload.
_EXAMPLE: dict = {}


if __name__ == "__main__":
    main()
