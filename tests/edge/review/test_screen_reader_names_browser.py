"""What a screen reader hears of the review pages, at a phone's width, in a real browser (Chromium
through Playwright, a real Uvicorn server on a SQLite log)."""

from __future__ import annotations

from review_helpers import Seeded, log_in, new_context


def test_a_screen_reader_hears_what_the_count_the_rows_and_the_playback_are(
    browser, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The nav's count was read "Alerts 6" (six what?), each row's link "4", and the skeleton
    playback was not there at all (a canvas's aria-label, without a role, is not read)."""
    context = new_context(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    # No live updates: their catch-up redraws the count, which could show it again once hidden below.
    page.route("**/api/v1/events/live*", lambda route: route.abort())
    try:
        log_in(page, live_server)
        page.wait_for_function("document.getElementById('unreviewed').textContent === '6'")
        assert page.get_by_role("link", name="Alerts 6 unreviewed", exact=True).count() == 1
        first = seeded.ids[0]
        page.get_by_role("link", name=f"alert {first}", exact=True).click()
        page.wait_for_selector("#meta dt")
        assert page.get_by_role("img", name="skeleton playback").count() == 1
        page.wait_for_function("document.getElementById('unreviewed').textContent === '6'")  # counted here
        page.evaluate("document.getElementById('unreviewed').hidden = true")  # none to review: no words
        assert page.get_by_role("link", name="Alerts", exact=True).count() == 1
        page.goto("about:blank")  # closes the live stream before the server stops
    finally:
        context.close()
