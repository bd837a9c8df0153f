"""The workspace in Debian's Chromium (Playwright), against the real served model (2 workers).

Every page visited is checked by axe-core (WCAG 2.2 AA and best practice: no
violation), for horizontal scrolling at 320 CSS px (what 400% zoom of a 1280 px
window gives; 200% zoom is 640 px), and photographed into docs/images/ for the
practitioner guide. Actions are taken with the keyboard (Enter and Space on
focused controls), never a mouse click.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from serving.audit_trail import AuditTrail

pytestmark = [pytest.mark.server, pytest.mark.slow]
IMAGES = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "images"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}
AXE = Axe()


def check_page(page, name: str | None = None, full_page: bool = True) -> None:
    """No axe violation, no horizontal scroll at 320 px, and (if named) a screenshot."""
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()
    page.set_viewport_size(NARROW)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size(WIDE)
    assert overflow <= 0, f"{page.url}: {overflow}px of horizontal scroll at 320 px"
    if name is not None:
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / f"workspace-{name}.png"), full_page=full_page)


def press(page, selector: str, key: str = "Enter") -> None:
    """Focus a control and press a key on it; every such action here loads a page."""
    page.focus(selector)
    with page.expect_navigation():
        page.keyboard.press(key)


def sign_in(page, served, role: str) -> None:
    page.goto(served.url + "/app/")
    assert page.url.endswith("/app/signin")
    page.fill("#api_key", served.keys[role])
    press(page, "#api_key")
    assert page.locator("text=Sign out").count() == 1


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    yield page
    context.close()


def _case(cases: list[dict]) -> dict:
    base = next(c for c in cases if c["person"]["imd_decile"] is not None)
    record = {"occurred_on": "2022-11-02", "role": "suspect", "category": "robbery"}
    return {"as_of": base["as_of"], "person": base["person"],
            **{t: [] for t in ("adversity", "care_episodes", "attendance", "exclusions",
                               "education_status", "health_events", "referrals")},
            "police_contacts": [record]}  # fmt: skip


def test_workspace_practitioner_walk_through(page, served, cases, tmp_path) -> None:
    case = _case(cases)
    person = case["person"]
    page.goto(served.url + "/app/signin")
    check_page(page, "sign-in")
    sign_in(page, served, "practitioner")
    check_page(page, "start")
    page.goto(served.url + "/app/cases/new")
    page.fill("#as_of", case["as_of"])
    page.fill("#person-person_id", person["person_id"])
    page.fill("#person-birth_month", person["birth_month"][:7])
    page.fill("#person-local_authority", person["local_authority"])
    page.fill("#person-imd_decile", str(person["imd_decile"]))
    for column in ("sex", "ethnicity", "sen"):
        page.select_option(f"#person-{column}", person[column])
    check_page(page, "new-case")
    press(page, "button[value='add:police_contacts']", "Space")
    # The mistake: a contact dated after today.
    page.fill("#police_contacts-0-occurred_on", (dt.date.today() + dt.timedelta(days=2)).isoformat())
    page.select_option("#police_contacts-0-role", "suspect")
    page.select_option("#police_contacts-0-category", "robbery")
    press(page, "button.primary", "Space")
    assert "The case could not be scored" in page.content()
    assert page.locator("#police_contacts-0-occurred_on[aria-invalid='true']").count() == 1
    assert page.input_value("#person-local_authority") == person["local_authority"]
    check_page(page, "new-case-problem")
    page.fill("#police_contacts-0-occurred_on", "2022-11-02")
    press(page, "#police_contacts-0-occurred_on")  # Enter submits with the form's default: score
    assert re.search(r"/app/cases/[0-9a-f-]{36}$", page.url), page.content()[:2000]
    audit_id = page.url.rsplit("/", 1)[1]
    assert person["person_id"] not in page.title() and person["person_id"] not in page.url
    check_page(page)
    api = httpx.post(served.url + "/score", json=case, headers=served.headers("practitioner"), timeout=60).json()
    html = page.content()
    assert f"({api['probability']:.4f})" in html and f"Band {api['band']} of 10" in html
    for factor in api["explanation"]["raising"] + api["explanation"]["lowering"]:
        assert f"{100 * factor['contribution']:+.2f}" in html
    page.focus("#decision-disagree")
    page.keyboard.press("Space")
    page.select_option("#practitioner_band", "3")
    page.fill("#reason", "the robbery record is about a different young person")
    press(page, "form[action$='/review'] button.primary", "Space")
    assert "/app/reviews/" in page.url and "different young person" in page.content()
    check_page(page, "review")
    page.goto(served.url + "/app/reviews")
    review_id = page.url and re.search(r"/app/reviews/([0-9a-f-]{36})", page.content()).group(1)
    check_page(page, "my-reviews")
    stored = [r for r in AuditTrail(served.audit_db).reviews(caller="test-practitioner") if r["review_id"] == review_id]
    assert stored and stored[0]["audit_id"] == audit_id and stored[0]["decision"] == "disagree"
    # A real case with many records, uploaded as the /score body.
    rich = max(cases, key=lambda c: sum(len(v) for v in c.values() if isinstance(v, list)))
    upload = tmp_path / "case.json"
    upload.write_text(json.dumps(rich))
    page.goto(served.url + "/app/cases/new")
    page.set_input_files("#case_file", str(upload))
    press(page, "form[action$='/upload'] button", "Space")
    assert "What moved the score" in page.content() and "<td class=\"num\">+" in page.content()
    check_page(page, "result")
    page.goto(served.url + f"/app/cases/{audit_id}")
    press(page, "form.signout button", "Space")
    assert page.url.endswith("/app/signin")
    page.go_back(wait_until="load")
    assert "Explained score" not in page.content() and person["person_id"] not in page.content()
    assert page.url.endswith("/app/signin")


def test_workspace_team_lead_walk_through(page, served, score_file) -> None:
    sign_in(page, served, "team_lead")
    page.goto(served.url + "/app/caseload")
    check_page(page)
    page.set_input_files("#score_file", str(score_file))
    press(page, "button[value='upload']", "Space")
    assert "starting point for discussion, not a decision" in page.content()
    check_page(page, "caseload", full_page=False)
    authorities = page.locator("#local_authority option").all_inner_texts()[1:]
    page.select_option("#local_authority", authorities[0])
    press(page, "form.filters button", "Space")
    assert f"local_authority={authorities[0]}" in page.url
    rows = page.locator("table.ranked tbody tr td:nth-child(3)").all_inner_texts()
    assert rows and set(rows) == {authorities[0]}
    check_page(page, "caseload-filtered", full_page=False)
    press(page, "a[href*='/app/caseload/']")
    assert re.search(r"/app/caseload/\d+$", page.url) and "What moved the score" in page.content()
    check_page(page, "caseload-case")
    page.goto(served.url + "/app/cases/new")
    assert "may not see this page" in page.content()
    check_page(page, "not-for-your-role")


def test_workspace_csrf_and_stale_session_record_nothing(page, served, cases) -> None:
    trail = AuditTrail(served.audit_db)
    before = (trail.count_scores(), len(trail.reviews(limit=10_000)))
    sign_in(page, served, "practitioner")
    page.goto(served.url + "/app/cases/new")
    token = page.input_value("input[name='csrf_token']")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    fields = {"as_of": cases[0]["as_of"], "action": "score"}
    forged = httpx.post(served.url + "/app/cases/new", data=fields, cookies=cookies)
    assert forged.status_code == 403 and "Nothing was recorded" in forged.text
    press(page, "form.signout button", "Space")
    stale = httpx.post(served.url + "/app/cases/new", data={**fields, "csrf_token": token}, cookies=cookies)
    assert stale.status_code == 403
    assert (trail.count_scores(), len(trail.reviews(limit=10_000))) == before


# -- keyboard only: the Tab order, and a walk-through with nothing but keys --------------

# Every control the Tab key should reach, in document order, as "tag#id name=value text";
# a radio group is one stop (Tab enters it, arrows move within it).
TAB_STOPS_JS = """() => {
  const describe = e => `${e.tagName.toLowerCase()}#${e.id} ${e.name || ''}=${e.value || ''} ${(e.textContent || '').trim().slice(0, 40)}`;
  const all = Array.from(document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]'))
    .filter(e => e.tabIndex >= 0 && !e.disabled && e.type !== 'hidden' && e.getClientRects().length > 0);
  return all.filter((e, i) => e.type !== 'radio' || all.findIndex(o => o.type === 'radio' && o.name === e.name) === i)
    .map(describe);
}"""
FOCUSED_JS = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return [`${e.tagName.toLowerCase()}#${e.id} ${e.name || ''}=${e.value || ''} ${(e.textContent || '').trim().slice(0, 40)}`,
          style.outlineStyle !== 'none' && style.outlineWidth !== '0px'];
}"""


def check_tab_order(page) -> None:
    """Tab from the top visits every control once, in document order, each with a visible focus ring."""
    stops = page.evaluate(TAB_STOPS_JS)
    focus_top(page)
    visited: list[str] = []
    # A date field takes a Tab per part (month, day, year): one stop, several presses.
    for _ in range(4 * len(stops)):
        if len(visited) == len(stops):
            break
        page.keyboard.press("Tab")
        where, ring = page.evaluate(FOCUSED_JS)
        assert ring, f"{page.url}: no visible focus on {where}"
        if not visited or visited[-1] != where:
            visited.append(where)
    assert visited == stops, f"{page.url}: Tab order differs from the page order"
    assert stops[0].startswith("a#") and "Skip to content" in stops[0]


def focus_top(page) -> None:
    """Put the focus at the start of the page, as on a fresh load (blur alone leaves Chromium's
    Tab starting point where the focus was): a script-only focus target before everything."""
    page.evaluate("""() => {
      const top = document.createElement('span');
      top.tabIndex = -1;
      document.body.prepend(top);
      top.focus();
      top.addEventListener('blur', () => top.remove(), {once: true});
    }""")


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab (forward only) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{page.url}: Tab never reached {selector}")


def key_to_page(page, key: str = "Enter") -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def test_workspace_keyboard_only_tab_order_and_walk_through(page, served, cases) -> None:
    """Sign in, enter a case, read the result, review it and sign out with the keyboard alone."""
    person = _case(cases)["person"]
    page.goto(served.url + "/app/signin")
    check_tab_order(page)
    tab_to(page, "#api_key")
    page.keyboard.type(served.keys["practitioner"])
    key_to_page(page)
    assert page.url.endswith("/app/")
    check_tab_order(page)
    tab_to(page, "nav a[href$='/cases/new']")
    key_to_page(page)
    assert page.url.endswith("/app/cases/new")
    check_tab_order(page)
    # The visually hidden default button (Enter in a field scores) is never a Tab stop.
    assert not any("Score this case" in s and "visually" in s for s in page.evaluate(TAB_STOPS_JS))
    focus_top(page)
    # A month field's parts: the month, then Tab to the year.
    for selector, typed in (("#person-person_id", [person["person_id"]]),
                            ("#person-birth_month", [person["birth_month"][5:7], "Tab", person["birth_month"][:4]]),
                            ("#person-local_authority", [person["local_authority"]]),
                            ("#person-imd_decile", [str(person["imd_decile"])])):  # fmt: skip
        tab_to(page, selector)
        for keys in typed:
            page.keyboard.press(keys) if keys == "Tab" else page.keyboard.type(keys)
    assert page.input_value("#person-birth_month") == person["birth_month"][:7]
    for column in ("sex", "ethnicity", "sen"):
        # A closed select picks the option whose label starts with what is typed.
        tab_to(page, f"#person-{column}")
        page.keyboard.type(person[column].replace("_", " "))
        assert page.input_value(f"#person-{column}") == person[column]
    tab_to(page, "button[value='add:police_contacts']")
    key_to_page(page, "Space")
    tab_to(page, "#police_contacts-0-occurred_on")
    page.keyboard.type("11022022")  # the date field's segments: month, day, year
    assert page.input_value("#police_contacts-0-occurred_on") == "2022-11-02"
    for column, value in (("role", "suspect"), ("category", "robbery")):
        tab_to(page, f"#police_contacts-0-{column}")
        page.keyboard.type(value)
    check_tab_order(page)
    tab_to(page, "button.primary")
    key_to_page(page)
    assert re.search(r"/app/cases/[0-9a-f-]{36}$", page.url), page.content()[:2000]
    audit_id = page.url.rsplit("/", 1)[1]
    check_tab_order(page)
    tab_to(page, "input[name='decision']")
    page.keyboard.press("ArrowDown")  # agree -> disagree, within the radio group
    assert page.is_checked("#decision-disagree")
    tab_to(page, "#practitioner_band")
    page.keyboard.type("Band 3")
    assert page.input_value("#practitioner_band") == "3"
    tab_to(page, "#reason")
    page.keyboard.type("recorded with the keyboard alone")
    tab_to(page, "form[action$='/review'] button.primary")
    key_to_page(page)
    assert "/app/reviews/" in page.url and "keyboard alone" in page.content(), page.content()[:3000]
    review_id = page.url.rsplit("/", 1)[1]
    check_tab_order(page)
    tab_to(page, "nav a[href$='/reviews']")
    key_to_page(page)
    assert f"/app/reviews/{review_id}" in page.content() and audit_id[:8] in page.content()
    tab_to(page, "form.signout button")
    key_to_page(page)
    assert page.url.endswith("/app/signin")
