"""An alert's page follows a review made elsewhere whatever the alert's state, in a real browser
(Chromium through Playwright, a real Uvicorn server on a SQLite log)."""

from __future__ import annotations

from review_helpers import Seeded, log_in

from edge.store import AlertStore


def test_a_closed_alerts_page_shows_a_colleagues_review_live(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """Only an open alert's page followed it: a closed one's said "new" after a colleague confirmed
    it (and the nav's unreviewed count kept its number) until a review of its own was refused."""
    alert_id = seeded.ids[0]
    log_in(page, live_server, f"/alerts/{alert_id}")
    page.wait_for_selector("#meta dt")
    page.fill("#note", "")  # unedited: the colleague's note replaces it
    page.wait_for_function("document.getElementById('alert').dataset.live === 'on'", timeout=10_000)
    count = "document.getElementById('unreviewed').textContent"
    before = int(page.evaluate(count))
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", "bob: a real fall", reviewer="bob")
    page.wait_for_function(
        "document.querySelector('#status-badge .status').textContent === 'confirmed'", timeout=10_000
    )
    page.wait_for_function(f"Number({count}) === {before - 1}", timeout=10_000)
    assert page.locator("#review-msg").inner_text().startswith("Reviewed meanwhile by bob")
    assert page.locator("#note").input_value() == "bob: a real fall"
    assert page.locator("#reopen").is_visible()
    # The page's next review is made over the one it now shows: accepted, not refused as stale.
    page.click("#dismiss")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    with AlertStore(seeded.url) as store:
        done = store.get_alert(alert_id)
    assert (done.status, done.note) == ("dismissed", "bob: a real fall")
    page.goto("about:blank")  # closes the live stream before the server stops
