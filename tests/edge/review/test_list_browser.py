"""The alert list in a real browser (Chromium through Playwright, a real Uvicorn server) as a reviewer
reaches it: old or hand-edited URLs, another time zone, and the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from review_helpers import (
    Seeded,
    demo_alert,
    free_port,
    log_in,
    make_context,
    new_context,
    running,
)

from edge.review.app import create_app
from edge.store import AlertStore


@pytest.fixture
def five_per_page(seeded: Seeded) -> Iterator[str]:
    """The seeded log (6 alerts) served five to a page: two pages."""
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, port=port, page_size=5)
    try:
        with running(create_app(ctx), port) as base:
            yield base
    finally:
        ctx.store.close()


def _shown(page) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#rows tr")
    return (
        page.locator("#summary").inner_text(),
        page.locator("#page").inner_text(),
        page.locator("#rows tr").count(),
    )


def test_an_offset_past_the_end_or_not_a_page_start_shows_a_real_page(page, five_per_page: str) -> None:  # type: ignore[no-untyped-def]
    """It said "showing 1000001–1000000 · page 200001 of 2" over an empty table, and a negative or
    non-numeric offset showed the API's 422 as JSON."""
    log_in(page, five_per_page, "/?offset=1000000", wrong_first=True)  # the address kept past a refusal
    assert _shown(page) == ("6 alert(s) match, 6 unreviewed · showing 6–6", "page 2 of 2", 1)
    assert not page.locator("#next").is_enabled() and page.locator("#prev").is_enabled()
    assert parse_qs(urlsplit(page.url).query) == {"offset": ["5"]}
    for odd in ["-5", "abc", "99999999999", "3"]:
        page.goto(f"{five_per_page}/?offset={odd}")
        expected = ("6 alert(s) match, 6 unreviewed · showing 1–5", "page 1 of 2", 5)
        if odd == "99999999999":
            expected = ("6 alert(s) match, 6 unreviewed · showing 6–6", "page 2 of 2", 1)
        assert _shown(page) == expected, odd
    assert page.locator("p.error").all_inner_texts() == [""]


def test_a_filter_in_the_url_the_form_cannot_hold_is_applied_or_said(  # type: ignore[no-untyped-def]
    page, live_server: str, seeded: Seeded, tmp_path: Path
) -> None:
    """A stream with no alerts, an unknown status or a bad date showed every alert as if filtered.
    An empty list said only "0 alert(s) match", alike for a log with no alert yet and for filters
    that leave none out of many, with no way back but the small "clear" by the dates."""
    log_in(page, live_server, "/?stream=garage")
    page.wait_for_function("document.getElementById('summary').textContent !== ''")
    assert page.locator("#summary").inner_text() == "No alert matches these filters. Clear the filters"
    assert page.locator("#f-stream").input_value() == "garage"
    page.click("#summary button")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 6")
    assert "stream=" not in page.url and page.locator("#f-stream").input_value() == ""
    page.goto(live_server + "/?status=bogus&since=yesterday")
    page.wait_for_selector("#rows tr")
    assert page.locator("#url-notice").inner_text() == (
        'Ignored from the address: status "bogus" (new, confirmed or dismissed), since "yesterday" (not a date).'
    )
    page.select_option("#f-status", "new")  # the reviewer's own filter: the address's is past
    page.wait_for_function("document.getElementById('url-notice').textContent === ''")
    page.goto("about:blank")  # closes the live stream before the server stops
    port = free_port()  # a log with no alert at all (another server: log in again)
    ctx = make_context(f"sqlite:///{tmp_path / 'empty.db'}", seeded.profiles, port=port)
    try:
        with running(create_app(ctx), port) as empty:
            log_in(page, empty)
            page.wait_for_function("document.getElementById('summary').textContent !== ''")
            assert page.locator("#summary").inner_text() == (
                "No alert yet: each appears here as it is raised (the list updates live)."
            )
            page.goto("about:blank")  # closes the live stream before the server stops
    finally:
        ctx.store.close()


def test_back_and_forward_step_through_the_pages_and_filters_the_reviewer_chose(
    page, five_per_page: str
) -> None:  # type: ignore[no-untyped-def]
    """A page or filter replaced the list's address: the browser's back left the list altogether
    (to the page before it) instead of going back to the page or filters just left."""
    log_in(page, five_per_page)
    assert _shown(page)[1] == "page 1 of 2"
    page.click("#next")
    page.wait_for_url("**/?offset=5")
    page.select_option("#f-stream", "door")
    page.wait_for_url("**/?stream=door")
    # the address changes as the filter is asked for, before its answer: the old summary till then
    page.wait_for_function("document.getElementById('summary').textContent.startsWith('3 alert(s)')")
    assert _shown(page) == ("3 alert(s) match, 3 unreviewed · showing 1–3", "page 1 of 1", 3)
    page.go_back()
    page.wait_for_url("**/?offset=5")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert page.locator("#f-stream").input_value() == "" and _shown(page)[1] == "page 2 of 2"
    page.go_back()
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 5")
    assert urlsplit(page.url).query == "" and _shown(page)[1] == "page 1 of 2"
    page.go_forward()
    page.go_forward()
    page.wait_for_url("**/?stream=door")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    assert page.locator("#f-stream").input_value() == "door"


def test_no_alert_is_current_once_a_new_one_pushed_the_current_one_to_the_next_page(
    page, five_per_page: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The current row's place was kept, not its alert: a new alert pushed the last row's alert to the
    next page, the one above it became current unseen, and "c" confirmed that one."""
    log_in(page, five_per_page)
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    for _ in range(5):
        page.keyboard.press("j")
    assert page.locator("#rows tr.focus").get_attribute("data-id") == str(seeded.ids[1])
    with AlertStore(seeded.url) as store:
        (new,) = store.write_alerts([demo_alert("yard", "other", datetime.now(UTC), seed=8)])
    page.wait_for_selector(f"#rows tr[data-id='{new}']")
    assert page.locator("#rows tr.focus").count() == 0
    page.keyboard.press("c")
    assert page.locator("#review-result").inner_text().startswith("Nothing to review")
    with AlertStore(seeded.url) as store:
        assert {a.status for a in store.list_alerts()} == {"new"}
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_time_filter_stays_put_across_reloads_in_another_time_zone(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """The URL holds UTC; the page put its digits into the local-time field, so each reload in New
    York moved the filter five hours later."""
    since = (datetime.now(UTC) - timedelta(hours=6)).replace(second=0, microsecond=0)
    in_url = since.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    context = new_context(browser, timezone_id="America/New_York")
    page = context.new_page()
    try:
        log_in(page, live_server, "/?since=" + in_url)
        page.wait_for_selector("#rows tr")
        local = since.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")
        assert page.locator("#f-since").input_value() == local
        page.reload()
        page.wait_for_selector("#rows tr")
        assert parse_qs(urlsplit(page.url).query)["since"] == [in_url]
        assert page.locator("#rows tr").count() == 6
    finally:
        context.close()


def test_enter_and_space_press_the_focused_button_and_shortcuts_work_from_a_checkbox(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The shortcuts took Enter and space from every button and link: "Mark page reviewed" or the
    help could not be pressed from the keyboard."""
    log_in(page, live_server)
    page.wait_for_selector("#rows tr")
    page.focus("#help-open")
    page.keyboard.press(" ")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    page.focus("#bulk-reviewed")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#rows tr.dismissed').length === 6")
    with AlertStore(seeded.url) as store:
        assert {a.status for a in store.list_alerts()} == {"dismissed"}
    page.focus("#select-all")
    page.keyboard.press("j")
    assert page.locator("#rows tr.focus").get_attribute("data-id") == str(seeded.ids[-1])
    page.focus(f"#rows tr[data-id='{seeded.ids[0]}'] td.id a")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/alerts/{seeded.ids[0]}")


def test_a_live_update_leaves_the_keyboard_focus_where_it_was(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """Every alert change anywhere redrew the rows and threw a keyboard user's focus to the page top."""
    log_in(page, live_server)
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    page.focus(f"#rows tr[data-id='{seeded.ids[2]}'] input.pick")
    with AlertStore(seeded.url) as store:
        store.set_status(seeded.ids[0], "confirmed", None, reviewer="bob")
    page.wait_for_selector(f"#rows tr[data-id='{seeded.ids[0]}'].confirmed")
    assert (
        page.evaluate("document.activeElement.getAttribute('aria-label')") == f"select alert {seeded.ids[2]}"
    )
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_click_begun_as_a_live_update_redraws_the_list_still_selects_its_alert(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Each live update (twice a second while an alert is open) rebuilt every row: a checkbox pressed
    as it came was released over a new one, and the click was lost (3 in 20 on a busy list)."""
    log_in(page, live_server)
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    box = page.locator(f"#rows tr[data-id='{seeded.ids[1]}'] input.pick").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    with AlertStore(seeded.url) as store:  # the open alert's worker writes its newer state
        still_open = store.get_alert(seeded.ids[4])
        store.write_alerts(
            [
                replace(
                    demo_alert("dock", "demo-walk", still_open.started_at, seed=5, closed=False),
                    peak_score=9.0,
                )
            ]
        )
    page.wait_for_function(
        f"document.querySelector(\"#rows tr[data-id='{seeded.ids[4]}']\").textContent.includes('9.000')"
    )
    page.mouse.up()
    assert page.locator(f"#rows tr[data-id='{seeded.ids[1]}'] input.pick").is_checked()
    assert page.locator("#selected-count").inner_text() == "1 selected"
    page.goto("about:blank")  # closes the live stream before the server stops


def test_the_current_alert_stays_current_when_a_colleague_reviews_one_above_it(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The list kept the current row's place, not its alert: a colleague's review took a row above it
    off the "new" list, the next alert down became current unseen, and "c" confirmed that one."""
    log_in(page, live_server, "/?status=new")
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    for _ in range(3):
        page.keyboard.press("j")
    assert page.locator("#rows tr.focus").get_attribute("data-id") == str(seeded.ids[3])
    with AlertStore(seeded.url) as store:
        store.set_status(seeded.ids[5], "dismissed", None, reviewer="bob")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 5")
    assert page.locator("#rows tr.focus").get_attribute("data-id") == str(seeded.ids[3])
    page.keyboard.press("c")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 4")
    with AlertStore(seeded.url) as store:
        assert [a.id for a in store.list_alerts() if a.status == "confirmed"] == [seeded.ids[3]]
    page.goto("about:blank")  # closes the live stream before the server stops


def test_the_help_takes_the_focus_keeps_the_keys_from_the_alerts_and_gives_it_back(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The help opened over the list but left the focus behind it: "c" there confirmed an alert."""
    page = module_page
    page.goto(module_server + "/")
    page.wait_for_selector("#rows tr")
    page.keyboard.press("j")
    page.focus("#help-open")
    page.keyboard.press("Enter")
    assert page.locator("#help").is_visible()
    assert page.evaluate("document.activeElement.id") == "help-close"
    page.keyboard.press("c")
    page.keyboard.press("Escape")
    assert (
        not page.locator("#help").is_visible() and page.evaluate("document.activeElement.id") == "help-open"
    )
    with AlertStore(module_log.url) as store:
        assert {a.status for a in store.list_alerts()} == {"new"}


def test_a_review_key_or_button_with_nothing_to_review_says_so(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """ "c" with no alert selected or moved to, and "Mark page reviewed" on a page with nothing new,
    did nothing and said nothing."""
    page = module_page
    page.goto(module_server + "/?status=confirmed")
    # the keys are wired by then
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    page.keyboard.press("c")
    assert (
        page.locator("#review-result").inner_text()
        == "Nothing to review: select alerts (x) or move to one (j / k)."
    )
    page.click("#bulk-reviewed")
    assert page.locator("#review-result").inner_text() == "No new alert on this page."
    with AlertStore(module_log.url) as store:
        assert {a.status for a in store.list_alerts()} == {"new"}


def test_a_live_reconnect_leaves_the_result_of_a_review_to_be_read(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """The result and the connection state shared one line: "6 alert(s) dismissed" was replaced by
    "live" as soon as the live updates reconnected."""
    page.route("**/api/v1/events/live", lambda route: route.abort())
    log_in(page, live_server)
    page.wait_for_function("document.getElementById('live-state').textContent === 'reconnecting…'")
    page.click("#bulk-reviewed")
    page.wait_for_function("document.querySelectorAll('#rows tr.dismissed').length === 6")
    page.unroute("**/api/v1/events/live")
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    result = "document.getElementById('review-result')"
    assert page.evaluate(f"[{result}?.textContent, {result}?.getAttribute('role')]") == [
        "6 alert(s) dismissed",
        "status",
    ]
    page.goto("about:blank")  # closes the live stream before the server stops


def test_the_profile_filter_offers_the_profiles_of_alerts_not_enrolled_here(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """It offered only this host's enrolled profiles: yard's alert on profile "other" (enrolled on
    another host, or deleted) could not be picked out."""
    page = module_page
    page.goto(module_server + "/")
    page.wait_for_selector("#rows tr")
    assert page.locator("#f-profile option").all_inner_texts() == ["all", "demo-walk", "other"]
    page.select_option("#f-profile", "other")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert page.locator("#rows tr").get_attribute("data-id") == str(module_log.ids[-1])


def test_a_list_reload_that_fails_says_the_rows_are_from_before(module_page, module_server: str) -> None:  # type: ignore[no-untyped-def]
    """With the server failing, a new filter left the old rows and "6 alert(s) match" as if applied
    (and an uncaught error in the page)."""
    page = module_page
    page.goto(module_server + "/")
    page.wait_for_selector("#rows tr")
    page.route(
        "**/api/v1/alerts?*", lambda route: route.fulfill(status=503, json={"detail": "database unreachable"})
    )
    page.select_option("#f-stream", "door")
    page.wait_for_selector("#summary.error")
    assert page.locator("#summary").inner_text() == (
        "Could not load the alerts (database unreachable): the list below is from before."
    )
    page.unroute("**/api/v1/alerts?*")
    page.select_option("#f-stream", "dock")
    page.wait_for_function("document.getElementById('summary').textContent.startsWith('2 alert(s) match')")
    assert page.locator("#summary").get_attribute("class") == "muted"


def test_a_refused_live_stream_is_asked_for_again_or_the_login_shown(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """A stream the server refused (a 503; a 401 once the session was gone: logged out, expired, or
    forgotten by a restarted server) the browser never asks for again: the list said "reconnecting…"
    for ever and updated no more; back, it missed the changes of the gap."""
    live = "document.getElementById('live-state').textContent"
    page.route("**/api/v1/events/live*", lambda route: route.fulfill(status=503, body="down"))
    page.clock.install()  # the page's own retry timer, run on rather than waited for
    log_in(page, live_server)
    page.wait_for_function(f"{live} === 'reconnecting…'")
    with AlertStore(seeded.url) as store:  # meanwhile, a colleague's review
        store.set_status(seeded.ids[0], "confirmed", None, reviewer="bob")
    page.unroute("**/api/v1/events/live*")
    page.clock.fast_forward(2000)
    page.wait_for_function(f"{live} === 'live'", timeout=10_000)
    page.wait_for_selector(f"#rows tr[data-id='{seeded.ids[0]}'].confirmed")  # caught up
    csrf = page.locator("meta[name='csrf-token']").get_attribute("content") or ""
    page.request.post(live_server + "/logout", headers={"X-CSRF-Token": csrf})  # as from another tab
    page.wait_for_url("**/login?next=*", timeout=10_000)
