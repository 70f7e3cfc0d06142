"""The profiles list's "Marked normal" counts the alerts held as normal now, those marked for one
camera too, in a real browser against a real server."""

from __future__ import annotations

from review_helpers import Seeded, log_in


def _mark_normal(page, base: str, alert_id: int, scope: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/alerts/{alert_id}")
    page.wait_for_function("document.getElementById('scope-all-text').textContent.includes('dock')")
    page.check(f"#scope-{scope}")
    page.click("#normal")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Normal for')")


def _marked_normal(page, base: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(base + "/profiles")
    row = page.locator("#profile-rows tr", has_text="demo-walk")
    row.wait_for()
    return str(row.locator("td").nth(7).inner_text())


def test_alerts_marked_normal_for_one_camera_count_on_the_profiles_list(  # type: ignore[no-untyped-def]
    page, live_server: str, seeded: Seeded
) -> None:
    # An alert marked normal for its camera (the page's default scope) showed as 0 marked normal on
    # the list, while the profile's own page named it: only profile-wide marks were counted (from the
    # feedback history, so an undone one counted still).
    log_in(page, live_server)
    assert _marked_normal(page, live_server) == "0"
    _mark_normal(page, live_server, seeded.ids[0], "camera")
    assert _marked_normal(page, live_server) == "1"
    _mark_normal(page, live_server, seeded.ids[1], "all")
    assert _marked_normal(page, live_server) == "2"
    page.goto(f"{live_server}/alerts/{seeded.ids[1]}")
    page.click("#undo")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Removed from')")
    assert _marked_normal(page, live_server) == "1"
