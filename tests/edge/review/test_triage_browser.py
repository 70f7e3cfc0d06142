"""Fast triage in a real browser (Playwright driving Debian's Chromium) against a real Uvicorn server:
bulk dismiss, keyboard shortcuts, a list that updates live, and a phone-width layout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlencode

from review_helpers import Seeded, demo_alert, log_in, new_context

from edge.store import AlertStore


def _statuses(url: str) -> dict[int, str]:
    with AlertStore(url) as store:
        return {a.id: a.status for a in store.list_alerts()}


def test_bulk_dismiss_a_keyboard_confirm_and_a_new_alert_appearing_without_reload(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, "/?stream=door")
    page.wait_for_selector("#rows tr")
    assert page.locator("#rows tr").count() == 3 and page.locator("#f-stream").input_value() == "door"
    page.select_option("#f-stream", "")  # the filter goes back to the URL
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 6")
    assert "stream=" not in page.url
    page.wait_for_function("document.getElementById('live-state').textContent === 'live'")

    # Bulk: select three, dismiss them in one go.
    three = seeded.ids[:3]
    for i in three:
        page.check(f"#rows tr[data-id='{i}'] input.pick")
    assert page.locator("#selected-count").inner_text() == "3 selected"
    page.click("#bulk-dismiss")
    page.wait_for_function("document.getElementById('review-result').textContent.startsWith('3 alert(s)')")
    assert [s for i, s in _statuses(seeded.url).items() if i in three] == ["dismissed"] * 3
    # the message comes before the list reloads (and the live event reloads it again): wait for both
    page.wait_for_function(
        "document.querySelectorAll('#rows tr.dismissed').length === 3"
        " && document.getElementById('unreviewed').textContent === '3'"
    )

    # Keyboard: the second row (newest first) confirmed with j, j, c; ? opens the help, Esc closes it.
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = int(page.locator("#rows tr.focus").get_attribute("data-id") or 0)
    assert second == seeded.ids[-2]
    page.keyboard.press("c")
    page.wait_for_function(
        f"document.querySelector(\"#rows tr[data-id='{second}']\").classList.contains('confirmed')"
    )
    assert _statuses(seeded.url)[second] == "confirmed"
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()

    # Live: alerts written to the log appear in the open list, and on a timeline open beside it (it
    # was drawn once: its period ended at its load), without a reload; the three changes of one
    # write redraw the timeline once.
    timeline = page.context.new_page()
    timeline.goto(live_server + "/timeline")
    timeline.wait_for_function("document.getElementById('live-state').textContent === 'live'")
    timeline.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 6")
    fetches: list[str] = []
    timeline.on("request", lambda r: fetches.append(r.url) if "/api/v1/timeline?" in r.url else None)
    for p in (page, timeline):
        p.evaluate("window.notReloaded = true")
    timeline.focus(f"#tl a[href='/alerts/{seeded.ids[0]}']")  # a keyboard user's bar keeps the focus
    drawn = datetime.fromtimestamp(timeline.evaluate("Date.now()") / 1000, UTC)  # after its period's end
    with AlertStore(seeded.url) as store:
        *_, new_id = store.write_alerts(
            [
                demo_alert("yard", "other", drawn + timedelta(milliseconds=10 * k), seed=11 + k)
                for k in range(3)
            ]
        )
    page.wait_for_selector(f"#rows tr[data-id='{new_id}']", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#rows tr").first.get_attribute("data-id") == str(new_id)
    timeline.wait_for_selector(f"#tl rect.bar[data-id='{new_id}']", timeout=10_000)
    assert timeline.locator("#tl rect.bar").count() == 9 and timeline.evaluate("window.notReloaded") is True
    timeline.wait_for_timeout(400)  # past the debounce: a second redraw would have asked by now
    assert len(fetches) == 1, fetches
    assert timeline.evaluate("document.activeElement.getAttribute('href')") == f"/alerts/{seeded.ids[0]}"
    for p in (page, timeline):
        p.goto("about:blank")  # closes the live streams before the server stops


def test_no_page_scrolls_sideways_on_a_390_px_phone(browser, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """Also with a camera named at length in several scripts: its live card and its alert's "Mark as
    normal" box (a fieldset, as wide as its longest word) made those pages 550-600 px wide."""
    long_name = "Küche-🎥-камера-" + "x" * 60
    with AlertStore(seeded.url) as store:
        now = datetime.now(UTC)  # four, for an id of two digits
        *_, long_id = store.write_alerts(
            [demo_alert(long_name, "demo-walk", now - timedelta(seconds=k), seed=12) for k in range(4)]
        )
    context = new_context(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        log_in(page, live_server)
        for path, ready in [
            ("/", "#rows tr"), (f"/alerts/{seeded.ids[0]}", "#meta dt"), ("/live", ".stream"),
            ("/profiles", "#profile-rows tr"), ("/profiles/demo-walk", "#version-rows tr"), ("/alerts/abc", "#error-page"),
            ("/timeline", "#tl rect.bar"), (f"/alerts/{long_id}", "#scope-all-text:has-text('door')"),
        ]:  # fmt: skip
            page.goto(live_server + path)
            page.wait_for_selector(ready)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide"
        # On a tablet, long names squeezed the id column: "20000" read 2 / 00 / 0, one per line.
        page.set_viewport_size({"width": 700, "height": 760})
        page.goto(live_server + "/")
        link = page.locator(f"#rows tr[data-id='{long_id}'] td.id a")
        assert link.evaluate("a => a.getClientRects().length") == 1, "the alert's id is broken over lines"
        # and the Stream filter was as wide as that name (523 px), pushing the others to a row below
        stream_box = page.locator("#f-stream").bounding_box()
        assert stream_box is not None and stream_box["width"] <= 240, (
            f"Stream filter {stream_box['width']} px"
        )
        # and the timeline's row label ran across the bars of its row
        page.goto(live_server + "/timeline")
        page.wait_for_selector("#tl rect.bar")
        right = page.locator("#tl text.row-label").evaluate_all(
            "ts => ts.map((t) => t.getBBox().x + t.getBBox().width)"
        )
        assert max(right) <= 90, f"a camera's name reaches {max(right)} px into the chart (it starts at 90)"
        # Whole on hover, in the page's own tip as a bar's words are (the browser's tooltip of an SVG
        # title flickered off at each redraw, every 5 s): hovered, the tip says the name.
        assert page.locator("#tl title").count() == 0
        page.locator(f"#tl g.camera[aria-label='{long_name}'] text").hover()
        page.wait_for_function("!document.getElementById('tl-tip').hidden")
        assert page.locator("#tl-tip").inner_text() == long_name
    finally:
        context.close()


def test_the_timeline_shows_every_camera_zooms_and_each_alert_has_its_whole_score_trace(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    since, until = (now - timedelta(hours=6)).isoformat(), now.isoformat()
    log_in(page, live_server, "/timeline?" + urlencode({"since": since, "until": until}))
    page.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 6")
    assert page.locator("#tl text.row-label").all_text_contents() == ["door", "dock", "yard"]
    with AlertStore(seeded.url) as store:  # every alert's score moment by moment, not its 6 stored windows
        lengths = {str(len(store.get_alert(i).timeline)) for i in seeded.ids}  # type: ignore[arg-type]
    traces = page.locator("#tl polyline.trace")
    assert traces.count() == 6 and {traces.nth(i).get_attribute("data-n") for i in range(6)} == lengths
    assert all(int(n) > 6 for n in lengths)

    # Drag across the last 40 % of the period (2.4 h): dock's two alerts and yard's stay, door's go.
    box = page.locator("#tl").bounding_box()
    plot_left, plot_right = box["x"] + 90, box["x"] + box["width"] - 10
    y = box["y"] + 40
    page.mouse.move(plot_left + 0.6 * (plot_right - plot_left), y)
    page.mouse.down()
    page.mouse.move(plot_left + 0.8 * (plot_right - plot_left), y, steps=4)
    page.mouse.move(plot_right - 1, y, steps=4)
    page.mouse.up()
    page.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 3")
    assert "since=" in page.url and since[:13] not in unquote(page.url)  # the zoomed period is in the URL

    newest = seeded.ids[-1]
    page.locator(f"#tl rect.bar[data-id='{newest}']").click()
    page.wait_for_url(f"**/alerts/{newest}")
    page.wait_for_selector("#timeline polyline.trace")
    n = page.locator("#timeline polyline.trace").get_attribute("data-n")
    assert n is not None and int(n) > 6 and page.locator("#timeline circle.score").count() == int(n)


def test_a_timeline_url_with_a_bad_or_backwards_period_says_so_and_shows_a_day(
    page, live_server: str
) -> None:  # type: ignore[no-untyped-def]
    """``since=garbage`` left the page at "Error: Invalid time value" with no chart; a period ending
    before it started drew an empty chart."""
    log_in(page, live_server, "/timeline?since=garbage")
    page.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 6")
    assert (
        page.locator("#url-notice").inner_text() == 'Ignored from the address: since "garbage" (not a date).'
    )
    page.goto(live_server + "/timeline?" + urlencode({"since": "2999-01-01T00:00:00Z"}))
    page.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 6")
    assert "(not before until)" in page.locator("#url-notice").inner_text()


def test_a_timeline_reload_that_fails_says_so_instead_of_old_bars(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """A zoom with the server failing left the last period's bars and summary (and an uncaught error)."""
    log_in(page, live_server, "/timeline")
    page.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 6")
    page.route(
        "**/api/v1/timeline?*",
        lambda route: route.fulfill(status=503, json={"detail": "database unreachable"}),
    )
    page.click("#t-out")
    page.wait_for_selector("#t-summary.error")
    assert page.locator("#t-summary").inner_text() == "Could not load the timeline (database unreachable)."
    assert page.locator("#tl rect.bar").count() == 0


def test_the_live_page_says_when_the_server_stops_answering(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """Its cards went on saying "live" or "ABNORMAL" from the last answer, with no sign it was old."""
    log_in(page, live_server, "/live")
    page.wait_for_selector(".stream")
    page.route(
        "**/api/v1/streams?*",
        lambda route: route.fulfill(status=503, json={"detail": "database unreachable"}),
    )
    page.wait_for_function("document.getElementById('live-error').textContent !== ''", timeout=10_000)
    said = page.locator("#live-error").inner_text()
    assert said.startswith("No answer from the server since ") and "(database unreachable)" in said
    assert re.search(r"\d\d(?: [AP]M)? (?:UTC|GMT[+-]?\d*|[A-Z]{3,5}) \(database", said), f"no zone: {said}"
    page.unroute("**/api/v1/streams?*")
    page.wait_for_function("document.getElementById('live-error').textContent === ''", timeout=10_000)
