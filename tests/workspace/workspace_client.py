"""Driving the workspace's pages from a test: sign in, read the form's CSRF token, fill the case form."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from serving.workspace.case_form import from_case


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(app, key: str) -> tuple[TestClient, str]:
    """A client signed in with ``key`` and the CSRF token of its session's forms."""
    client = TestClient(app, base_url="http://testserver")
    page = client.get("/app/signin")
    response = client.post("/app/signin", data={"csrf_token": csrf_token(page.text), "api_key": key})
    assert response.status_code == 200 and "Sign out" in response.text, response.text[:500]
    return client, csrf_token(response.text)


def form_fields(case: dict) -> dict[str, str]:
    """The new-case form's fields for a case, as the page would post them."""
    form = from_case(case)
    data = dict(form.values)
    data.update({f"{t}-rows": str(n) for t, n in form.rows.items()})
    return data
