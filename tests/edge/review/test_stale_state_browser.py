"""What the pages show when what they show is old: a stream whose worker stopped, an unreviewed
count the server did not answer, a hidden Live tab (which need not poll)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from review_helpers import Seeded, log_in

from edge.store import AlertStore
from edge.store.models import StreamStatus


def _status(url: str, stream: str, age_s: float) -> None:
    """A worker's status row for ``stream`` (demo-walk, over threshold), written ``age_s`` ago."""
    with AlertStore(url) as store, store.writing() as s:
        s.merge(StreamStatus(
            stream_id=stream, profile="demo-walk", profile_version=1, updated_at=datetime.now(UTC) - timedelta(seconds=age_s),
            host="edge-1", fps=20.0, score=1.4, threshold=0.9, windows_scored=40, recent=json.dumps([[1.0, 1.2], [2.0, 1.4]]),
        ))  # fmt: skip


def test_a_stream_whose_worker_stopped_is_shown_stale_never_abnormal(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """dock has an open alert: with a current status row it is ABNORMAL; with one a minute old (the
    worker stopped, status_every_s 5) its state is unknown, "no status since", and its last score
    is not drawn hot as if current. It said ABNORMAL, and the score as live, for ever."""
    _status(seeded.url, "dock", 60.0)
    _status(seeded.url, "door", 1.0)
    log_in(page, live_server, "/live")
    dock, door = page.locator(".stream[data-stream='dock']"), page.locator(".stream[data-stream='door']")
    dock.wait_for()
    assert dock.locator("h2 .status").inner_text() == "stale"
    text = dock.inner_text()
    assert "ABNORMAL" not in text and "no status since" in text and "1 open alert(s), state unknown" in text
    assert "last score 1.400" in text and dock.locator(".meter.hot").count() == 0
    assert door.locator("h2 .status").inner_text() == "live" and door.locator(".meter.hot").count() == 1
    _status(seeded.url, "dock", 0.0)  # the worker is back
    page.wait_for_function(
        "document.querySelector(\"[data-stream='dock'] h2 .status\").textContent === 'ABNORMAL'"
    )


def test_a_hidden_live_tab_stops_polling_and_catches_up_when_shown(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """The Live page asked /streams every 2 s in a hidden tab as in a shown one."""
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/api/v1/streams" in r.url else None)
    page.clock.install()
    log_in(page, live_server, "/live")
    page.locator(".stream").first.wait_for()
    page.clock.run_for(4_100)
    page.wait_for_function("() => true")  # the fetches the timers started are sent
    assert len(polls) >= 3  # shown: the first, then every 2 s
    hide = "v => { Object.defineProperty(document, 'hidden', { value: v, configurable: true }); document.dispatchEvent(new Event('visibilitychange')); }"
    page.evaluate(hide, True)
    before = len(polls)
    page.clock.run_for(10_000)
    page.evaluate("() => new Promise(r => setTimeout(r, 0))")
    assert len(polls) == before
    with page.expect_request("**/api/v1/streams*"):
        page.evaluate(hide, False)  # shown again: at once


def test_the_unreviewed_count_says_it_is_unknown_when_its_call_fails(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The header's count kept its last number when the server did not answer, read as current."""
    log_in(page, live_server, "/")
    badge = page.locator("#unreviewed")
    page.wait_for_function("document.getElementById('unreviewed').textContent === '6'")
    page.wait_for_function(
        "document.getElementById('live-state').textContent === 'live'"
    )  # changes from now on
    page.route(
        "**/api/v1/alerts?status=new*",
        lambda route: route.fulfill(status=503, json={"detail": "alert log unreachable; try again shortly"}),
    )
    with AlertStore(seeded.url) as store:  # another reviewer: the list's live update asks the count again
        store.set_status(seeded.ids[0], "confirmed", None, reviewer="bob")
    page.wait_for_function("document.getElementById('unreviewed').textContent === '?'")
    assert "stale" in (badge.get_attribute("class") or "") and "unknown" in (
        badge.get_attribute("title") or ""
    )
    page.unroute("**/api/v1/alerts?status=new*")
    with AlertStore(seeded.url) as store:
        store.set_status(seeded.ids[1], "confirmed", None, reviewer="bob")
    page.wait_for_function("document.getElementById('unreviewed').textContent === '4'")
    assert "stale" not in (badge.get_attribute("class") or "")
    page.goto("about:blank")  # closes the live stream before the server stops
