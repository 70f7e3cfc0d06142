"""A button that is off looks off, in a real browser (Chromium through Playwright, a real Uvicorn
server on a SQLite log)."""

from __future__ import annotations

from review_helpers import Seeded, log_in

LOOK = "(id) => { const s = getComputedStyle(document.getElementById(id)); return [s.color, s.borderColor, s.opacity]; }"


def test_the_lists_confirm_and_dismiss_look_off_until_alerts_are_selected(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """With nothing selected, Confirm and Dismiss (off) looked as pressable as when on: their red
    and green replaced the browser's grey of a button that is off."""
    log_in(page, live_server)
    page.wait_for_selector("#rows tr")
    off = {b: page.evaluate(LOOK, b) for b in ("bulk-confirm", "bulk-dismiss")}
    assert page.locator("#bulk-confirm").is_disabled()
    page.locator("#rows input.pick").first.check()
    assert page.locator("#bulk-confirm").is_enabled()
    for b, look in off.items():
        on = page.evaluate(LOOK, b)
        assert float(look[2]) <= 0.5 < float(on[2]), (b, look, on)
    page.goto("about:blank")  # closes the live stream before the server stops
