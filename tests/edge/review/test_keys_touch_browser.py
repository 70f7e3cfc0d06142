"""The pages on a phone (touch, no keyboard) and on a desktop, in a real browser (Chromium through
Playwright, a real Uvicorn server on a SQLite log)."""

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


def test_a_phones_checkboxes_and_radios_are_a_fingers_size(browser, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """A row's checkbox was 13 px on a phone: hard to tick one without the next (WCAG asks 24)."""
    phone = new_context(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        log_in(page, live_server)
        for path, target in [("/", "#rows input.pick"), (f"/alerts/{seeded.ids[0]}", "#scope-camera")]:
            page.goto(live_server + path)
            page.wait_for_selector(target)
            box = page.locator(target).first.bounding_box()
            assert box is not None and min(box["width"], box["height"]) >= 24, (path, box)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.goto(live_server + "/")
        pick, link = (
            page.locator(f"#rows tr >> nth=0 >> {s}").bounding_box() for s in ("input.pick", "td.id a")
        )
        assert pick is not None and link is not None and pick["x"] + pick["width"] <= link["x"], (pick, link)
        page.goto("about:blank")  # closes the live stream before the server stops
    finally:
        phone.close()
