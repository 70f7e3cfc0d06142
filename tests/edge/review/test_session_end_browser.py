"""A session that ends (expires, or is logged out in another tab) while a page is open: the page goes
to the login showing nothing of it first. Before, a page said "Failed: 401", "No answer from the
server … (401)" or, on an alert's page in red, "No live updates since … (reconnecting…)" until the
login came (the live stream ended by the server, then its reconnect refused 2 s later)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from review_helpers import TOKEN, Seeded, free_port, make_context, new_context, running, watched_page

from edge.review.app import create_app
from edge.review.auth import COOKIE
from edge.review.context import ReviewContext
from edge.store import AlertStore
from edge.store.models import Alert

# Every text a page is given while open, its lines with these words kept in the tab's sessionStorage,
# which the login page (same origin, same tab) still holds.
RECORD = """
new MutationObserver((changes) => {
  const seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
  for (const c of changes) for (const line of (c.target.textContent || "").split("\\n"))
    if (/401|Failed|No answer|No live updates|reconnecting/.test(line) && !seen.includes(line)) seen.push(line.slice(0, 200));
  sessionStorage.setItem("seen", JSON.stringify(seen));
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def expiring(module_log: Seeded) -> Iterator[tuple[str, ReviewContext]]:
    """A server on the module's log whose sessions a test can end: its base URL and its context."""
    port = free_port()
    ctx = make_context(module_log.url, module_log.profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            yield base, ctx
    finally:
        ctx.store.close()


@pytest.fixture
def session_page(browser, expiring):  # type: ignore[no-untyped-def]
    """A page on a session of its own (logged in through the login form's POST), recording its texts."""
    base, _ = expiring
    context = new_context(browser, viewport={"width": 1100, "height": 760})
    context.add_init_script(RECORD)
    assert context.request.post(base + "/login", form={"token": TOKEN}, max_redirects=0).status == 303
    try:
        with watched_page(context) as page:
            yield page
    finally:
        context.close()


def _end_session(page, ctx: ReviewContext) -> None:  # type: ignore[no-untyped-def]
    (sid,) = [c["value"] for c in page.context.cookies() if c["name"] == COOKIE]
    ctx.auth.sessions[sid].expires = time.time() - 1


def _at_the_login(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.wait_for_url("**/login?next=**", timeout=15_000)
    page.wait_for_load_state()
    return list(page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')"))


# A page's calls as it loads all answered (the nav's count, and on an alert's page its playback and
# which cameras each scope changes): a session ended before one is answered sends the page to the
# login by itself, before the action a test means to be the page's first call after the end.
LOADED = {
    "/alerts/{id}": "document.getElementById('clock').textContent.includes('frame')"
    " && (document.getElementById('normal-box').hidden"
    " || document.getElementById('scope-camera-text').textContent.startsWith('only camera '))",
    "/": "!!document.querySelector('#rows tr')",
    "/live": "!!document.querySelector('.stream')",
    "/profiles": "!!document.querySelector('#profile-rows tr')",
}


def _loaded(page, path: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"!document.getElementById('unreviewed').hidden && {LOADED[path]}", timeout=15_000)


LIVE_ON = {
    "/alerts/{id}": "document.getElementById('alert')?.dataset.live === 'on'",
    "/": "document.getElementById('live-state')?.textContent === 'live'",
    "/timeline": "document.getElementById('live-state')?.textContent === 'live'",
}


@pytest.mark.parametrize("path", list(LIVE_ON))
@pytest.mark.parametrize("when", ["once-live", "as-it-loads"])
def test_a_page_left_open_goes_to_the_login_as_its_session_ends(  # type: ignore[no-untyped-def]
    session_page, expiring, module_log: Seeded, path: str, when: str
) -> None:
    base, ctx = expiring
    session_page.goto(base + path.format(id=module_log.ids[0]), wait_until="domcontentloaded")
    if when == "once-live":
        session_page.wait_for_function(LIVE_ON[path], timeout=15_000)
    _end_session(session_page, ctx)
    assert _at_the_login(session_page) == []


@pytest.mark.parametrize("held", ["/windows", "/normal"])
def test_a_call_cut_off_as_the_page_leaves_for_the_login_says_nothing(  # type: ignore[no-untyped-def]
    session_page, expiring, module_log: Seeded, held: str
) -> None:
    """An alert's page whose playback (or scopes) had not come as the session ended said "Error:
    Failed to fetch" (or that the scopes were unknown) as it left: its call cut off by the leaving."""
    base, ctx = expiring
    alert_id = module_log.ids[0]
    session_page.route(f"**/api/v1/alerts/{alert_id}{held}", lambda route: None)
    session_page.goto(f"{base}/alerts/{alert_id}")
    session_page.wait_for_function(LIVE_ON["/alerts/{id}"], timeout=15_000)
    _end_session(session_page, ctx)
    assert _at_the_login(session_page) == []


@pytest.mark.parametrize("path", ["/alerts/{id}", "/", "/live"])
def test_an_action_after_the_session_ended_goes_to_the_login_saying_nothing(  # type: ignore[no-untyped-def]
    session_page, expiring, module_log: Seeded, path: str
) -> None:
    """The page's live stream held unanswered (it would have ended with the session): the page learns
    of the end from its next call, a review or (Live) its poll every 2 s."""
    base, ctx = expiring
    session_page.route("**/api/v1/events/live**", lambda route: None)
    alert_id = module_log.ids[0]
    session_page.goto(base + path.format(id=alert_id))
    _loaded(session_page, path)
    _end_session(session_page, ctx)
    if path == "/alerts/{id}":
        session_page.click("#confirm")
    elif path == "/":
        session_page.click("#bulk-reviewed")
    assert _at_the_login(session_page) == []
    with ctx.store.reading() as s:  # nothing was reviewed
        assert s.get(Alert, alert_id).status == "new"


def test_a_note_being_written_as_the_session_ends_is_there_after_the_login(  # type: ignore[no-untyped-def]
    session_page, expiring, module_log: Seeded
) -> None:
    """The page went to the login and back to the alert after it, its note box holding the alert's
    note again: what the reviewer had written was gone."""
    base, ctx = expiring
    alert_id = module_log.ids[1]
    session_page.goto(f"{base}/alerts/{alert_id}")
    session_page.wait_for_function(LIVE_ON["/alerts/{id}"], timeout=15_000)
    session_page.fill("#note", "the delivery man again, at the side door")
    _end_session(session_page, ctx)
    _at_the_login(session_page)
    session_page.fill("#token", TOKEN)
    session_page.click("#login")
    session_page.wait_for_url(f"**/alerts/{alert_id}")
    session_page.wait_for_selector("#meta dt")
    assert session_page.input_value("#note") == "the delivery man again, at the side door"
    session_page.click("#dismiss")
    session_page.wait_for_function(
        "document.getElementById('review-msg').textContent === 'Marked dismissed.'"
    )
    with ctx.store.reading() as s:
        assert s.get(Alert, alert_id).note == "the delivery man again, at the side door"
    assert (
        session_page.evaluate(f"sessionStorage.getItem('haad-note:{alert_id}')") is None
    )  # sent: no draft left
    with AlertStore(module_log.url) as store:  # as the module found it
        store.set_status(alert_id, "new", "", reviewer="test")


@pytest.mark.parametrize("path", ["/profiles", "/alerts/{id}"])
def test_the_navs_api_link_after_the_session_ended_goes_through_the_login(  # type: ignore[no-untyped-def]
    session_page, expiring, module_log: Seeded, path: str
) -> None:
    """The nav's "API" (the API's schema) showed a signed-out browser the schema's raw 401 JSON, its
    page stranded there; now it goes through the login, as a page does, and on to the schema."""
    base, ctx = expiring
    session_page.route("**/api/v1/events/live**", lambda route: None)  # the page stays, as in a quiet tab
    session_page.goto(base + path.format(id=module_log.ids[0]))
    _loaded(session_page, path)
    _end_session(session_page, ctx)
    session_page.click("nav a:text-is('API')")
    assert _at_the_login(session_page) == []
    session_page.fill("input[name=token]", TOKEN)
    session_page.click("button[type=submit]")
    session_page.wait_for_url("**/api/v1/openapi.json")
    assert json.loads(session_page.locator("body").inner_text())["info"]["title"] == "haad review API"
