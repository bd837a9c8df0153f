"""The workspace over a real champion: in-process (Starlette's TestClient) and served (Chromium).

The champion and the served model are tests/served_model.py's, registered once in
tests/conftest.py and shared with tests/serving (same xdist group, so one training
and one server per worker).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

# The champion, served model and cases fixtures come from tests/conftest.py (one of each per session).
from served_model import run_svrisk, service_env
from serving.api_keys import new_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ERR_NO_CHROMIUM = (
    "Debian's chromium is not installed: the browser tests need it "
    "(`apt-get install -y chromium`, or `make test` as root); no browser is downloaded"
)
IN_PROCESS_ROLES = ("practitioner", "team_lead", "admin", "ethics_panel")


@dataclass
class InProcess:
    """The workspace app in this process over the champion, and a key per role."""

    app: object
    workspace: object
    keys: dict[str, str]
    audit_db: str


@pytest.fixture(scope="session")
def score_file(champion, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`svrisk score` of the champion's extract at one snapshot (the caseload's input)."""
    root = tmp_path_factory.mktemp("workspace_scores")
    out = root / "scores.parquet"
    run_svrisk(["score", str(champion.extract), "--as-of", "2023-04-01", "--out", str(out)],
         champion.store_env, root)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def in_process(champion, tmp_path_factory: pytest.TempPathFactory) -> InProcess:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from serving.audit_trail import AuditTrail
    from serving.model_loader import load_served_model
    from serving.settings import ServingSettings
    from serving.workspace.app import Workspace, build_workspace_app

    root = tmp_path_factory.mktemp("workspace_in_process")
    keys = {role: new_key() for role in IN_PROCESS_ROLES}
    audit_db = f"sqlite:///{root / 'audit.db'}"
    env = {
        **service_env(champion, audit_db, keys, "in"),
        # The fuzzing posts over 1,000 forms a minute with one key: the workspace's limits are
        # tested on their own workspace (test_workspace_access.py), with their own counts.
        "SVRISK_RATE_LIMIT_REQUESTS": "1000000",
        "SVRISK_RATE_LIMIT_DB": str(root / "rates.db"),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        settings = ServingSettings.from_env()
        model = load_served_model(settings)
        audit = AuditTrail(settings.audit_db)
        audit.create_schema()
        workspace = Workspace(settings, model, audit)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    app = Starlette(routes=[Mount("/app", app=build_workspace_app(lambda: workspace))])
    return InProcess(app=app, workspace=workspace, keys=keys, audit_db=audit_db)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, driven by Playwright (never a downloaded browser)."""
    assert Path(CHROMIUM).exists(), ERR_NO_CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
