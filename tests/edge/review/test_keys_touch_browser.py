"""The keyboard shortcuts' help is offered where there is a keyboard, not on a phone, in a real
browser (Chromium through Playwright, a real Uvicorn server on a SQLite log)."""

from __future__ import annotations

from review_helpers import Seeded, log_in, new_context


def test_a_phone_is_offered_no_keys_help(browser, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The "keys (?)" button showed on a phone (touch, no keyboard), where its keys are no use."""
    phone = new_context(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    desk = new_context(browser, viewport={"width": 1100, "height": 760})
    try:
        for context, shown in [(phone, False), (desk, True)]:
            page = context.new_page()
            log_in(page, live_server)
            for path, ready in [("/", "#rows tr"), (f"/alerts/{seeded.ids[0]}", "#meta dt")]:
                page.goto(live_server + path)
                page.wait_for_selector(ready)
                assert page.locator("#help-open").is_visible() is shown, (path, shown)
            page.goto("about:blank")  # closes the live stream before the server stops
    finally:
        phone.close()
        desk.close()
