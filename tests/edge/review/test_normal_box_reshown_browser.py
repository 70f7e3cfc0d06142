"""The "Mark as normal" box shown again on an alert's page (its normal undone, here or elsewhere) says
what a fresh load of the page says, in a real browser (Chromium through Playwright, a real Uvicorn
server on a seeded SQLite log): which cameras each scope changes, and whether this host can apply it.
Hidden at load (the alert was in a profile then), it came back with "only this camera", "every camera
using the profile" and a pressable button, even for a profile this host lacks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from review_helpers import AUTH, Seeded, demo_alert, logged_in_context, seed, served, watched_page

from edge.store import AlertStore

# What the box says and offers; its preview is in once the "all" scope names its cameras (after a ":").
BOX = """() => {
  const $ = (id) => document.getElementById(id), sel = $("normal-profile");
  return { shown: !$("normal-box").hidden, camera: $("scope-camera-text").textContent,
    all: $("scope-all-text").textContent, off: $("normal").disabled, why: $("normal-why").textContent,
    profile: sel.hidden ? null : sel.value };
}"""
PREVIEWED = "!document.getElementById('normal-box').hidden && document.getElementById('scope-all-text').textContent.includes(':')"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One seeded log for the module: each test marks and undoes the normal of an alert of its own."""
    folder = tmp_path_factory.mktemp("normal-box")
    (folder / "profiles").mkdir()
    return seed(f"sqlite:///{folder / 'alerts.db'}", folder / "profiles")


@pytest.fixture(scope="module")
def live_server(seeded: Seeded) -> Iterator[str]:
    with served(seeded.url, seeded.profiles) as base:
        yield base


@pytest.fixture(scope="module")
def logged_in(browser, live_server: str):  # type: ignore[no-untyped-def]
    """A browser context logged in to ``live_server`` once; each test opens its own page in it."""
    with logged_in_context(browser, live_server, viewport={"width": 1100, "height": 760}) as context:
        yield context


@pytest.fixture
def page(logged_in):  # type: ignore[no-untyped-def]
    with watched_page(logged_in) as pg:
        yield pg


def _mark_normal(base: str, alert_id: int, **body: Any) -> None:
    """Marked normal through the API, as another reviewer or `haad` would."""
    r = httpx.post(
        f"{base}/api/v1/alerts/{alert_id}/normal", json={"scope": "camera", **body}, headers=AUTH, timeout=60
    )
    assert r.status_code == 200, r.text


def _fresh_box(page) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    page.reload()
    page.wait_for_function(PREVIEWED, timeout=10_000)
    box: dict[str, Any] = page.evaluate(BOX)
    return box


def _undo_here(page, base: str, alert_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/alerts/{alert_id}")
    page.wait_for_selector("#undo", state="visible")
    assert page.locator("#normal-box").is_hidden()
    page.click("#undo")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Removed from')")
    page.wait_for_function(PREVIEWED, timeout=10_000)
    box: dict[str, Any] = page.evaluate(BOX)
    return box


def test_the_box_back_after_an_undo_here_previews_the_scopes(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    alert_id = seeded.ids[0]  # door, demo-walk (enrolled here)
    _mark_normal(live_server, alert_id)
    reshown = _undo_here(page, live_server, alert_id)
    assert reshown == {"shown": True, "camera": "only camera door", "all": "every camera using demo-walk: dock, door",
                       "off": False, "why": "", "profile": None}  # fmt: skip
    assert reshown == _fresh_box(page)


def test_the_box_back_after_an_undo_here_is_off_for_a_profile_this_host_lacks(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """An alert against other+demo-walk, normal for demo-walk: undone, the box offers other first
    (not enrolled here), and its button was pressable."""
    started = datetime.now(UTC).replace(microsecond=0)
    with AlertStore(seeded.url) as store:
        [alert_id] = store.write_alerts([demo_alert("door", "other+demo-walk", started, seed=11)])
    _mark_normal(live_server, alert_id, profile="demo-walk")
    reshown = _undo_here(page, live_server, alert_id)
    assert reshown == {"shown": True, "camera": "only camera door", "all": "every camera using other: yard",
                       "off": True, "why": "Profile other is not enrolled on this host: mark it normal where it is.",
                       "profile": "other"}  # fmt: skip
    assert reshown == _fresh_box(page)


def test_the_box_back_after_an_undo_elsewhere_previews_the_scopes(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    alert_id = seeded.ids[1]
    _mark_normal(live_server, alert_id)
    page.goto(f"{live_server}/alerts/{alert_id}")
    page.wait_for_selector("#undo", state="visible")
    page.wait_for_function("document.getElementById('alert').dataset.live === 'on'", timeout=10_000)
    r = httpx.delete(f"{live_server}/api/v1/alerts/{alert_id}/normal", headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    page.wait_for_function(PREVIEWED, timeout=10_000)  # followed live
    reshown = page.evaluate(BOX)
    assert reshown == {"shown": True, "camera": "only camera door", "all": "every camera using demo-walk: dock, door",
                       "off": False, "why": "", "profile": None}  # fmt: skip
    assert reshown == _fresh_box(page)


def test_the_box_whose_preview_failed_stays_off_and_says_why(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """Its preview's request failed (the server unreachable): the box said "only this camera" with a
    pressable button, the failure only in the page's message line."""
    alert_id = seeded.ids[2]  # one no other test marks
    page.goto(f"{live_server}/alerts/{alert_id}")
    page.wait_for_function(PREVIEWED, timeout=10_000)
    previewed = "**/api/v1/alerts/*/normal"
    page.route(previewed, lambda route: route.abort() if route.request.method == "GET" else route.continue_())
    page.reload()
    page.wait_for_selector("#normal-why:not(:empty)", timeout=10_000)
    assert (
        page.locator("#normal-why").inner_text().startswith("Which cameras each scope changes is unknown (")
    )
    assert page.locator("#normal").is_disabled()
    assert page.locator("#scope-camera-text").inner_text() == "only this camera"
    page.unroute(previewed)
    page.reload()  # as it says
    page.wait_for_function(PREVIEWED, timeout=10_000)
    assert page.locator("#normal").is_enabled() and page.locator("#normal-why").inner_text() == ""
