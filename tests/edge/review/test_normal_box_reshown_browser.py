"""The "Mark as normal" box shown again on an alert's page (its normal undone, here or elsewhere) says
what a fresh load of the page says, in a real browser (Chromium through Playwright, a real Uvicorn
server on a seeded SQLite log shared by the module): which cameras each scope changes, and whether this host can apply it.
Hidden at load (the alert was in a profile then), it came back with "only this camera", "every camera
using the profile" and a pressable button, even for a profile this host lacks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from review_helpers import AUTH, Seeded, demo_alert

from edge.store import AlertStore

# What the box says and offers; its preview is in once the "all" scope names its cameras (after a ":").
BOX = """() => {
  const $ = (id) => document.getElementById(id), sel = $("normal-profile");
  return { shown: !$("normal-box").hidden, camera: $("scope-camera-text").textContent,
    all: $("scope-all-text").textContent, off: $("normal").disabled, why: $("normal-why").textContent,
    profile: sel.hidden ? null : sel.value };
}"""
PREVIEWED = "!document.getElementById('normal-box').hidden && document.getElementById('scope-all-text').textContent.includes(':')"


def _mark_normal(base: str, alert_id: int, **body: Any) -> None:
    """Marked normal through the API, as another reviewer or `haad` would."""
    r = httpx.post(
        f"{base}/api/v1/alerts/{alert_id}/normal", json={"scope": "camera", **body}, headers=AUTH, timeout=60
    )
    assert r.status_code == 200, r.text


def _fresh_box(module_page) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    module_page.reload()
    module_page.wait_for_function(PREVIEWED, timeout=10_000)
    box: dict[str, Any] = module_page.evaluate(BOX)
    return box


def _undo_here(module_page, base: str, alert_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    module_page.goto(f"{base}/alerts/{alert_id}")
    module_page.wait_for_selector("#undo", state="visible")
    assert module_page.locator("#normal-box").is_hidden()
    module_page.click("#undo")
    module_page.wait_for_function(
        "document.getElementById('review-msg').textContent.startsWith('Removed from')"
    )
    module_page.wait_for_function(PREVIEWED, timeout=10_000)
    box: dict[str, Any] = module_page.evaluate(BOX)
    return box


def test_the_box_back_after_an_undo_here_previews_the_scopes(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    alert_id = module_log.ids[0]  # door, demo-walk (enrolled here)
    _mark_normal(module_server, alert_id)
    reshown = _undo_here(module_page, module_server, alert_id)
    assert reshown == {"shown": True, "camera": "only camera door", "all": "every camera using demo-walk: dock, door",
                       "off": False, "why": "", "profile": None}  # fmt: skip
    assert reshown == _fresh_box(module_page)


def test_the_box_back_after_an_undo_here_is_off_for_a_profile_this_host_lacks(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """An alert against other+demo-walk, normal for demo-walk: undone, the box offers other first
    (not enrolled here), and its button was pressable."""
    started = datetime.now(UTC).replace(microsecond=0)
    with AlertStore(module_log.url) as store:
        [alert_id] = store.write_alerts([demo_alert("door", "other+demo-walk", started, seed=11)])
    _mark_normal(module_server, alert_id, profile="demo-walk")
    reshown = _undo_here(module_page, module_server, alert_id)
    assert reshown == {"shown": True, "camera": "only camera door", "all": "every camera using other: yard",
                       "off": True, "why": "Profile other is not enrolled on this host: mark it normal where it is.",
                       "profile": "other"}  # fmt: skip
    assert reshown == _fresh_box(module_page)


def test_the_box_back_after_an_undo_elsewhere_previews_the_scopes(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    alert_id = module_log.ids[1]
    _mark_normal(module_server, alert_id)
    module_page.goto(f"{module_server}/alerts/{alert_id}")
    module_page.wait_for_selector("#undo", state="visible")
    module_page.wait_for_function("document.getElementById('alert').dataset.live === 'on'", timeout=10_000)
    r = httpx.delete(f"{module_server}/api/v1/alerts/{alert_id}/normal", headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    module_page.wait_for_function(PREVIEWED, timeout=10_000)  # followed live
    reshown = module_page.evaluate(BOX)
    assert reshown == {"shown": True, "camera": "only camera door", "all": "every camera using demo-walk: dock, door",
                       "off": False, "why": "", "profile": None}  # fmt: skip
    assert reshown == _fresh_box(module_page)


def test_the_box_whose_preview_failed_stays_off_and_says_why(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Its preview's request failed (the server unreachable): the box said "only this camera" with a
    pressable button, the failure only in the page's message line."""
    alert_id = module_log.ids[2]  # one no other test marks
    module_page.goto(f"{module_server}/alerts/{alert_id}")
    module_page.wait_for_function(PREVIEWED, timeout=10_000)
    previewed = "**/api/v1/alerts/*/normal"
    module_page.route(
        previewed, lambda route: route.abort() if route.request.method == "GET" else route.continue_()
    )
    module_page.reload()
    module_page.wait_for_selector("#normal-why:not(:empty)", timeout=10_000)
    assert (
        module_page.locator("#normal-why")
        .inner_text()
        .startswith("Which cameras each scope changes is unknown (")
    )
    assert module_page.locator("#normal").is_disabled()
    assert module_page.locator("#scope-camera-text").inner_text() == "only this camera"
    module_page.unroute(previewed)
    module_page.reload()  # as it says
    module_page.wait_for_function(PREVIEWED, timeout=10_000)
    assert (
        module_page.locator("#normal").is_enabled() and module_page.locator("#normal-why").inner_text() == ""
    )
