"""The timeline page as the clock moves, in a real browser (Chromium through Playwright with its fake
clock, a real Uvicorn server on a SQLite log): an open alert is drawn as going on until it ends or
the server is gone, "Last N hours" slides with now, and the chart keeps to its period."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import cv2
import numpy as np
from review_helpers import Seeded, demo_alert, free_port, log_in, make_context, running

from edge.review.app import create_app
from edge.store import AlertStore


def bar(alert_id: int, what: str) -> str:
    """An expression of the page: the x of the start or end of ``alert_id``'s bar (null: none)."""
    x = "Number(b.getAttribute('x'))" + (" + Number(b.getAttribute('width'))" if what == "end" else "")
    return f"(() => {{ const b = document.querySelector(\"#tl rect.bar[data-id='{alert_id}']\"); return b ? {x} : null; }})()"


def test_an_open_alerts_bar_grows_with_the_clock_and_stops_when_it_closes(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The bar of an alert open for minutes ended where the last live event had left it: between
    events nothing redrew it, and an alert going on read as one that had ended."""
    open_id = seeded.ids[4]  # dock, opened 30 min ago
    with AlertStore(seeded.url) as store:
        started = store.get_alert(open_id).started_at
    now = datetime.now(UTC)
    page.clock.install(time=now)
    period = {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }
    log_in(page, live_server, "/timeline?" + urlencode(period))
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    end = bar(open_id, "end")
    page.wait_for_function(f"{end} !== null")
    # The chart's scale: pixels per minute, from the bar's start (30 min ago) to its end (now).
    x0 = page.evaluate(bar(open_id, "start"))
    first = page.evaluate(end)
    per_min = (first - x0) / ((now - started).total_seconds() / 60)
    assert per_min > 2
    page.clock.fast_forward("10:00")
    page.wait_for_function(f"{end} > {first + 9 * per_min}")
    grown = page.evaluate(end)
    assert abs(grown - (first + 10 * per_min)) < 0.5 * per_min  # now, not past it
    # It closes (a live event): the bar ends at its end and stays there as the clock goes on.
    closed_at = datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC)
    closing = demo_alert("dock", "demo-walk", started, seed=5)
    link = page.locator(f"#tl a[href='/alerts/{open_id}']")
    assert (link.get_attribute("aria-label") or "").endswith(" · new · still open")
    with AlertStore(seeded.url) as store:
        store.write_alerts([dataclasses.replace(closing, ended_at=closed_at)])
    page.wait_for_function(
        "(id) => !document.querySelector(`#tl a[href='/alerts/${id}']`).ariaLabel.endsWith('open')",
        arg=open_id,
    )
    stopped = page.evaluate(end)
    assert abs(stopped - grown) < 0.5 * per_min
    page.clock.fast_forward("10:00")
    page.clock.run_for(6000)  # a redraw or two
    assert page.evaluate(end) == stopped
    # A period that follows now (no end in the address) still ends at now, as its summary says.
    page.goto(live_server + "/timeline")
    page.wait_for_selector(f"#tl rect.bar[data-id='{open_id}']")
    before = page.locator("#t-summary").inner_text()
    page.clock.fast_forward("10:00")
    page.wait_for_function("(b) => document.getElementById('t-summary').textContent !== b", arg=before)
    # now, as the page writes a time, to the last redraw (one every 5 s)
    recent = page.evaluate(
        "[...Array(6).keys()].map((k) => new Date(Date.now() - k * 1000).toLocaleString([], { timeZoneName: 'short' }))"
    )
    assert page.locator("#t-summary").inner_text().split(" – ")[1] in recent
    page.goto("about:blank")  # closes the live stream before the server stops


def test_with_the_server_gone_open_alerts_are_said_known_only_to_then(page, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """With the server stopped, the timeline went on drawing an open alert to now and an open
    alert's page went on saying "open", as if both were still followed live."""
    open_id = seeded.ids[4]
    now = datetime.now(UTC)
    page.clock.install(time=now)
    period = {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, port=port)
    alert = page.context.new_page()
    try:
        with running(create_app(ctx), port) as base:
            log_in(page, base, "/timeline?" + urlencode(period))
            alert.goto(f"{base}/alerts/{open_id}")
            for p in (page, alert):
                p.wait_for_function(
                    "document.getElementById('live-state').textContent.match(/^(live|Open: followed live.)$/)"
                )
        end = bar(open_id, "end")
        page.wait_for_function("document.getElementById('t-summary').className === 'error'")
        assert "No live updates since" in page.locator("#t-summary").inner_text()
        alert.wait_for_function("document.getElementById('alert').dataset.live === 'lost'")
        assert alert.locator("#live-state").inner_text().endswith("(reconnecting…): it may have ended since.")
        stopped = page.evaluate(end)
        page.clock.fast_forward("10:00")
        page.clock.run_for(6000)  # a redraw or two
        assert page.evaluate(end) == stopped  # known open up to then only
        with running(create_app(ctx), port):  # back: followed live again, up to now
            page.wait_for_function(f"{end} > {stopped + 5}")
            assert page.locator("#t-summary").get_attribute("class") == "muted"
            alert.wait_for_function(
                "document.getElementById('live-state').textContent === 'Open: followed live.'"
            )
            for p in (page, alert):
                p.goto("about:blank")  # closes the live streams before the server stops
    finally:
        alert.close()
        ctx.store.close()


def test_last_hour_slides_with_now_and_keeps_its_length(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """ "Last 1 hour" kept its start as the clock went on: left open, it drew ever more hours (the
    whole shift, the select still saying 1 hour), and the address could not ask for it."""
    page.clock.install(time=datetime.now(UTC))
    log_in(page, live_server, "/timeline")
    bars = "document.querySelectorAll('#tl rect.bar').length"
    page.wait_for_function(f"{bars} === 6")
    page.select_option("#t-last", "1")
    page.wait_for_function(f"{bars} === 2")  # dock's open alert (30 min ago), yard's (10 min ago)
    assert page.url.endswith("/timeline?last=1")
    page.clock.fast_forward("55:00")  # yard's has ended before the last hour now
    page.wait_for_function(f"{bars} === 1")
    assert page.locator("#t-summary").inner_text().startswith("1 alert(s) on 3 camera(s)")
    page.reload()
    page.wait_for_function(f"{bars} === 1")
    assert page.locator("#t-last").input_value() == "1"
    page.goto(live_server + "/timeline?last=an+hour")
    page.wait_for_function(f"{bars} === 6")
    assert page.locator("#url-notice").inner_text() == (
        'Ignored from the address: last "an hour" (not a number of hours up to ten years).'
    )
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_trace_begun_before_the_period_stays_off_the_camera_names(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Zoomed in after an alert began, its score trace was drawn left of the chart, over the names."""
    with AlertStore(seeded.url) as store:
        started = store.get_alert(seeded.ids[3]).started_at  # dock's closed alert
    period = {
        "since": (started + timedelta(seconds=2)).isoformat(),
        "until": (started + timedelta(seconds=12)).isoformat(),
    }
    log_in(page, live_server, "/timeline?" + urlencode(period))
    page.wait_for_selector(f"#tl polyline.trace[data-id='{seeded.ids[3]}']")
    box = page.locator("#tl").bounding_box()
    assert box is not None
    names = page.screenshot(clip={"x": box["x"], "y": box["y"], "width": 88, "height": box["height"]})
    bgr = cv2.imdecode(np.frombuffer(names, np.uint8), cv2.IMREAD_COLOR).astype(int)
    blue = (abs(bgr[..., 0] - 0xB4) < 40) & (abs(bgr[..., 1] - 0x77) < 40) & (abs(bgr[..., 2] - 0x1F) < 40)
    assert not blue.any(), "the trace is drawn over the camera names"
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_zoomed_period_is_not_called_the_last_24_hours(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """Zoomed, the chart still said "Last 24 hours", and choosing that again did nothing (no change)."""
    log_in(page, live_server, "/timeline")
    page.wait_for_selector("#tl rect.bar")
    assert page.locator("#t-last").input_value() == "24"
    page.click("#t-out")
    page.wait_for_function("document.getElementById('t-last').value === ''")
    assert page.locator("#t-last option:checked").inner_text() == "—"
    page.select_option("#t-last", "24")
    page.wait_for_url("**/timeline?last=24")
    page.goto("about:blank")  # closes the live stream before the server stops


def test_the_keyboard_zooms_in(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """Only a pointer's drag zoomed in: from the keyboard the chart could only zoom out."""
    page.clock.install(time=datetime.now(UTC))
    log_in(page, live_server, "/timeline?last=6")
    bars = "document.querySelectorAll('#tl rect.bar').length"
    page.wait_for_function(f"{bars} === 6")  # 5 h ago to 10 min ago
    page.focus("#t-last")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # zoom in: the last 3 hours, still sliding with now
    page.wait_for_url("**/timeline?last=3")
    page.clock.fast_forward("30:00")
    page.wait_for_function(f"{bars} === 3")  # begun 2 h, 30 min (open) and 10 min ago
    for _ in range(3):  # 1.5 hours, 45 min, 22.5 min: the open one alone
        page.keyboard.press("Enter")
    page.wait_for_function(f"{bars} === 1")
    assert page.url.endswith("/timeline?last=0.375") and page.locator("#t-last").input_value() == ""
    page.reload()  # the same zoomed period, still sliding
    page.wait_for_function(f"{bars} === 1")
    assert page.locator("#url-notice").inner_text() == ""
    page.goto("about:blank")  # closes the live stream before the server stops


def test_two_people_alerting_at_once_on_one_camera_get_a_bar_each(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """A camera's alerts were all drawn on one line: two people's at once, one bar hid the other."""
    now = datetime.now(UTC)
    with AlertStore(seeded.url) as store:
        ids = store.write_alerts(
            [
                dataclasses.replace(
                    demo_alert("hall", "demo-walk", now - timedelta(seconds=ago), seed=30 + p), person=p
                )
                for p, ago in ((7, 1200), (8, 1198), (9, 300))  # 8 begins as 7 goes on
            ]
        )
    log_in(page, live_server, "/timeline?last=1")
    page.wait_for_selector(f"#tl rect.bar[data-id='{ids[-1]}']")
    box = {i: page.locator(f"#tl rect.bar[data-id='{i}']").bounding_box() for i in ids}
    seven, eight, nine = (box[i] for i in ids)
    assert seven and eight and nine
    assert eight["y"] >= seven["y"] + seven["height"]  # overlapping: another lane
    assert nine["y"] == seven["y"]  # after both: the first lane again
    camera_lines = page.locator("#tl line[x1='0']").evaluate_all(
        "(ls) => ls.map((l) => Number(l.getAttribute('y1')))"
    )
    # the row grew to hold its second lane
    assert eight["y"] + eight["height"] < page.locator("#tl").bounding_box()["y"] + max(camera_lines)  # type: ignore[index]
    page.goto("about:blank")  # closes the live stream before the server stops
