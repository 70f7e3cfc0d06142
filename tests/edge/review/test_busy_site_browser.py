"""What tripped a reviewer walking a busy site in a real browser (Chromium through Playwright, a real
Uvicorn server): the keyboard after paging, and an alert log that stops answering (PostgreSQL behind
a proxy that refuses, then forwards again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from review_helpers import Seeded, demo_alert, log_in, new_context, seed, served

from edge.store import AlertStore


def test_j_then_enter_or_space_act_on_the_alert_moved_to_not_the_button_pressed_before(
    page, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Paged with "older ›", then moved to an alert with j: Enter paged on again (the button kept the
    focus) instead of opening it, and space did too instead of selecting it."""
    with AlertStore(seeded.url) as store:  # 11 alerts, three pages of five
        earlier = datetime.now(UTC) - timedelta(days=1)
        store.write_alerts(
            [demo_alert("door", "demo-walk", earlier - timedelta(hours=i), seed=10 + i) for i in range(5)]
        )
    with served(seeded.url, seeded.profiles, page_size=5) as base:
        log_in(page, base)
        page.wait_for_selector("#rows tr")
        page.click("#next")
        page.wait_for_function("document.getElementById('page').textContent === 'page 2 of 3'")
        page.keyboard.press("j")
        current = page.locator("#rows tr.focus").get_attribute("data-id")
        page.keyboard.press(" ")
        assert page.locator("#selected-count").inner_text() == "1 selected"
        assert page.locator("#page").inner_text() == "page 2 of 3"
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/alerts/{current}")
        page.goto("about:blank")  # closes the live stream before the server stops


def test_pages_open_or_opened_while_the_alert_log_is_down_say_so_and_load_once_it_answers(
    browser, pg_url: str, pg_proxy: tuple[Any, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """With the log down, an open list went on saying "live" (nothing could come); one opened then
    said "Error: alert log unreachable; try again shortly" and stayed empty after it came back; an
    alert opened then was an error page for good; and a review pressed meanwhile said the reason
    twice, telling the reviewer to reload (onto that error page)."""
    proxy, url = pg_proxy
    (tmp_path / "profiles").mkdir()
    seeded = seed(url, tmp_path / "profiles")
    alert_id = seeded.ids[0]
    context = new_context(browser, viewport={"width": 1100, "height": 760})
    try:
        with served(url, seeded.profiles) as base:
            opened = context.new_page()
            log_in(opened, base, f"/alerts/{alert_id}")
            opened.wait_for_selector("#meta dd")
            watching = context.new_page()
            watching.goto(base + "/")
            watching.wait_for_function("document.getElementById('live-state').textContent === 'live'")
            proxy.set("refuse")
            paused = "paused: the alert log does not answer"
            watching.wait_for_function(f"document.getElementById('live-state').textContent === '{paused}'")
            opened.wait_for_function(
                f"document.getElementById('live-state').textContent.includes('({paused})')"
            )
            with AlertStore(pg_url) as store:  # a colleague's review meanwhile, where the log still answers
                store.set_status(seeded.ids[1], "dismissed", None, reviewer="bob")
            opened.click("#confirm")
            opened.wait_for_function("document.getElementById('review-msg').textContent !== '…'")
            assert (
                opened.locator("#review-msg").inner_text()
                == "Failed: alert log unreachable; try again shortly"
            )
            listed, reloaded = context.new_page(), context.new_page()
            listed.goto(base + "/")
            listed.wait_for_selector("#first-read.error")
            assert listed.locator("#first-read").inner_text() == (
                "Could not load the alerts (alert log unreachable; try again shortly): trying again every 5 s."
            )
            reloaded.goto(f"{base}/alerts/{alert_id}")
            assert "This page tries again every 5 s." in reloaded.locator("#error-page").inner_text()
            proxy.set("forward")
            listed.wait_for_function("document.querySelectorAll('#rows tr').length === 6", timeout=15_000)
            assert listed.locator("#first-read").count() == 0
            reloaded.wait_for_selector("#meta dd", timeout=15_000)
            watching.wait_for_selector(f"#rows tr.dismissed[data-id='{seeded.ids[1]}']", timeout=15_000)
            assert watching.locator("#live-state").inner_text() == "live"
            for p in (opened, watching, listed, reloaded):
                p.goto("about:blank")  # closes the live streams before the server stops
    finally:
        context.close()


def test_a_bulk_review_is_undone_back_to_each_alerts_status_leaving_a_colleagues_review(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """A page confirmed by mistake (a, c: fifty alerts at a stroke on a busy site) could only be
    reopened one by one, each alert's page at a time, and what each had been was not said anywhere."""
    first, dismissed, *_ = seeded.ids
    with AlertStore(seeded.url) as store:
        store.set_status(dismissed, "dismissed", None, reviewer="carol")
    log_in(page, live_server)
    page.wait_for_selector(f"#rows tr.dismissed[data-id='{dismissed}']")
    page.keyboard.press("a")
    page.keyboard.press("c")
    page.wait_for_function("document.querySelectorAll('#rows tr.confirmed').length === 6")
    assert page.locator("#review-result").inner_text() == "6 alert(s) confirmed"
    with AlertStore(seeded.url) as store:
        store.set_status(first, "dismissed", "a false alarm", reviewer="bob")
    page.click("#review-undo")
    page.wait_for_function("document.getElementById('review-result').textContent.startsWith('Undone')")
    assert page.locator("#review-result").inner_text() == (
        "Undone: 5 alert(s) back as they were; 1 reviewed meanwhile by someone else, left as they are"
    )
    with AlertStore(seeded.url) as store:
        status = {a.id: (a.status, a.reviewed_by) for a in store.list_alerts()}
    assert status[first] == ("dismissed", "bob")
    assert status[dismissed][0] == "dismissed"
    assert [status[i][0] for i in seeded.ids[2:]] == ["new"] * 4
    assert page.locator("#review-undo").is_hidden()
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_load_begun_before_a_filter_changed_never_shows_its_rows_under_the_new_filter(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """On a slow log, a live update's reload of the whole list answered after the reviewer had picked
    a camera: the form and the address said "door", the rows were every camera's."""
    log_in(page, live_server)
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 6")
    held: list[Any] = []
    whole_list = lambda url: "/api/v1/alerts?" in url and "offset=" in url and "stream=" not in url  # noqa: E731
    page.route("**/api/v1/alerts?*", lambda r: held.append(r) if whole_list(r.request.url) else r.continue_())
    with AlertStore(seeded.url) as store:
        store.set_status(seeded.ids[0], "confirmed", None, reviewer="bob")
    while not held:
        page.wait_for_timeout(50)
    page.select_option("#f-stream", "door")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    with page.expect_response(lambda r: whole_list(r.url)):
        held[0].continue_()
    page.wait_for_timeout(300)  # what the page does with the late answer
    assert page.locator("#rows tr").count() == 3
    assert page.locator("#summary").inner_text() == "3 alert(s) match, 2 unreviewed · showing 1–3"
    assert page.url.endswith("/?stream=door")
    page.goto("about:blank")  # closes the live stream before the server stops


def test_the_timeline_and_the_unreviewed_count_show_their_latest_answer_not_a_late_older_one(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """On a slow log, answers asked for at a live update came after newer ones: a colleague's review
    of an alert undone on the timeline (its bar back to "new"), and the nav's count from before it."""
    yard = seeded.ids[-1]
    log_in(page, live_server, "/timeline")
    page.wait_for_function("document.getElementById('t-summary').textContent.startsWith('6 alert(s)')")
    page.wait_for_function("document.getElementById('unreviewed').textContent === '6'")
    held: dict[str, tuple[Any, Any]] = {}  # the first answer of each kind, read then, given later
    kinds = {"/api/v1/timeline?": "timeline", "/api/v1/alerts?status=new&limit=1": "count"}
    kind = lambda url: next((k for part, k in kinds.items() if part in url), None)  # noqa: E731

    def hold_first(route: Any) -> None:
        k = kind(route.request.url)
        if k is not None and k not in held:
            held[k] = (route, route.fetch())
        else:
            route.continue_()

    page.route("**/api/v1/**", hold_first)
    with AlertStore(seeded.url) as store:
        store.set_status(seeded.ids[0], "confirmed", None, reviewer="bob")
    while len(held) < 2:
        page.wait_for_timeout(50)
    with AlertStore(seeded.url) as store:
        store.set_status(yard, "dismissed", None, reviewer="bob")
    bar = f"#tl a[data-id='{yard}']"
    page.wait_for_function(
        f"document.querySelector(\"{bar}\").getAttribute('aria-label').endsWith('dismissed')"
    )
    page.wait_for_function("document.getElementById('unreviewed').textContent === '4'")
    for k, (route, answer) in held.items():
        with page.expect_response(lambda r, k=k: kind(r.url) == k):  # type: ignore[misc]
            route.fulfill(response=answer)
    page.wait_for_timeout(300)  # what the page does with the late answers
    assert (page.locator(bar).get_attribute("aria-label") or "").endswith(" · dismissed")
    assert page.locator("#unreviewed").inner_text() == "4"
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_selected_alert_a_colleague_reviews_meanwhile_is_left_to_their_review(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Selected while new, then dismissed by a colleague (the row redrawn live among the others
    selected): the bulk confirm went over the dismissal, as the list now showed it."""
    first, second, *_ = seeded.ids
    log_in(page, live_server)
    page.wait_for_function("document.querySelectorAll('#rows tr.new').length === 6")
    for i in (first, second):
        page.check(f"#rows tr[data-id='{i}'] input.pick")
    with AlertStore(seeded.url) as store:
        store.set_status(first, "dismissed", "bob: a cleaner", reviewer="bob")
    page.wait_for_selector(f"#rows tr.dismissed[data-id='{first}']")
    page.click("#bulk-confirm")
    page.wait_for_function("document.getElementById('review-result').textContent !== ''")
    assert page.locator("#review-result").inner_text() == (
        "1 alert(s) confirmed; 1 reviewed meanwhile by someone else, left as they are"
    )
    with AlertStore(seeded.url) as store:
        assert (store.get_alert(first).status, store.get_alert(first).reviewed_by) == ("dismissed", "bob")
        assert store.get_alert(second).status == "confirmed"
    assert page.locator("#selected-count").inner_text() == "0 selected"
    page.goto("about:blank")  # closes the live stream before the server stops


def test_back_from_an_alert_its_row_or_the_one_that_took_its_place_is_current(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Triage by keyboard (j, Enter, review on its page, back): back on the list no alert was current,
    and j started again from the top of a list of hundreds."""
    newest_first = seeded.ids[::-1]
    current = "document.querySelector('#rows tr.focus')?.dataset.id"
    log_in(page, live_server, "/?status=new")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 6")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/alerts/{newest_first[1]}")
    page.wait_for_selector("#meta dd")
    page.go_back()
    page.wait_for_function(f"{current} === '{newest_first[1]}'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/alerts/{newest_first[1]}")
    page.wait_for_selector("#meta dd")
    page.keyboard.press("d")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    page.go_back()
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 5")
    page.wait_for_function(f"{current} === '{newest_first[2]}'")
    page.keyboard.press("j")
    assert page.evaluate(current) == str(newest_first[3])
    page.goto("about:blank")  # closes the live stream before the server stops


def test_an_alert_reopened_by_a_colleague_is_said_reopened(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """Reopened (or its "normal" undone) by a colleague, the open page said "Reviewed meanwhile by
    bob (…): new.", as if bob had reviewed it and found it new."""
    alert_id = seeded.ids[0]
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", None, reviewer="carol")
    log_in(page, live_server, f"/alerts/{alert_id}")
    page.wait_for_function("document.getElementById('alert').dataset.live === 'on'")
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "new", None, reviewer="bob")
    page.wait_for_function(
        "document.getElementById('review-msg').textContent.startsWith('Reviewed meanwhile by bob')"
    )
    assert page.locator("#review-msg").inner_text().endswith("): reopened.")
    assert page.locator("#status-badge").inner_text() == "new"
    page.goto("about:blank")  # closes the live stream before the server stops


def test_a_rows_camera_and_person_link_to_their_alerts_the_other_filters_kept(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """To list one person's alerts the reviewer had to find their track number and type it into the
    Person box: the row's "door" (or "door · person 2") opened the alert like the rest of the row."""
    log_in(page, live_server, "/?status=new")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 6")
    page.get_by_role("link", name="door", exact=True).first.click()
    page.wait_for_url("**/?status=new&stream=door&person=0")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    assert (page.locator("#f-stream").input_value(), page.locator("#f-person").input_value()) == ("door", "0")
    page.goto("about:blank")  # closes the live stream before the server stops
