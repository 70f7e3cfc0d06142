"""What a reviewer walking the pages met, in a real browser (Chromium through Playwright, a real
Uvicorn server on a SQLite log): the list's address, the timeline's zoom button, the nav's unreviewed count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from review_helpers import Seeded, demo_alert, log_in

from edge.store import AlertStore


def test_the_unfiltered_list_has_a_plain_address(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """The list without filters was at "/?", and went back there when they were cleared."""
    log_in(page, live_server)
    page.wait_for_selector("#rows tr")
    assert page.url == live_server + "/"
    page.select_option("#f-status", "new")
    page.wait_for_url("**/?status=new")
    page.click("#f-clear")
    page.wait_for_function("location.search === '' && !location.href.endsWith('?')")
    assert page.url == live_server + "/"
    page.goto("about:blank")  # closes the live stream before the server stops


PERIOD = "(() => { const q = new URLSearchParams(location.search); return new Date(q.get('until')) - new Date(q.get('since')); })()"


def test_zoom_in_is_off_where_it_would_do_nothing(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """Zoomed by a drag to under 10 s, "zoom in" could be pressed and did nothing, saying nothing."""
    since = datetime.now(UTC) - timedelta(minutes=20)
    period = {"since": since.isoformat(), "until": (since + timedelta(seconds=20)).isoformat()}
    log_in(page, live_server, "/timeline?" + urlencode(period))
    page.wait_for_function("document.getElementById('t-summary').textContent !== ''")
    assert page.locator("#t-in").is_enabled()
    for press, length_ms, off in (("#t-in", 10e3, False), ("#t-in", 5e3, True), ("#t-out", 10e3, False)):
        page.click(press)  # 10 s is the closest the button goes
        page.wait_for_function(f"{PERIOD} === {length_ms}")  # the address first, then the chart
        page.wait_for_function(f"document.getElementById('t-in').disabled === {str(off).lower()}")
    page.goto("about:blank")  # closes the live stream before the server stops


@pytest.mark.parametrize("path", ["/live", "/timeline"])
def test_the_unreviewed_count_follows_new_alerts_and_reviews(
    page, live_server: str, seeded: Seeded, path: str
) -> None:  # type: ignore[no-untyped-def]
    """On the live page and the timeline the nav's unreviewed count stayed what it was when the
    page opened: a new alert on another camera and a colleague's review went unsaid."""
    # the live stream answered, so its "from now on" is past (no state line on the live page says so)
    with page.expect_response(lambda r: "/api/v1/events/live" in r.url):
        log_in(page, live_server, path)
    badge = page.locator("#unreviewed")
    page.wait_for_function("document.getElementById('unreviewed').textContent === '6'")
    with AlertStore(seeded.url) as store:
        store.write_alerts(
            [demo_alert("hall", "demo-walk", datetime.now(UTC) - timedelta(seconds=30), seed=40)]
        )
    page.wait_for_function("document.getElementById('unreviewed').textContent === '7'")
    with AlertStore(seeded.url) as store:
        for alert_id in seeded.ids[:3]:
            store.set_status(alert_id, "dismissed", None, reviewer="bob")
    page.wait_for_function("document.getElementById('unreviewed').textContent === '4'")
    assert badge.is_visible()
    page.goto("about:blank")  # closes the live stream before the server stops
