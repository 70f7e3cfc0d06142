"""The alert page from the keyboard, with the list's keys for the same acts, in a real browser
(Chromium through Playwright, a real Uvicorn server on a SQLite log)."""

from __future__ import annotations

from review_helpers import Seeded, log_in

from edge.store import AlertStore


def _help(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The page's keyboard help, opened with ? and closed with Esc: keys -> what they do."""
    page.keyboard.press("?")
    assert page.locator("#help").is_visible() and page.evaluate("document.activeElement.id") == "help-close"
    keys, what = (page.locator(f"#help {tag}").all_inner_texts() for tag in ("dt", "dd"))
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    return dict(zip(keys, what, strict=True))


def _status(seeded: Seeded, alert_id: int) -> str:
    with AlertStore(seeded.url) as store:
        return store.get_alert(alert_id).status


def test_the_alert_page_takes_the_lists_review_keys_and_shows_them(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The list confirmed with c and dismissed with r or d; the alert page, where a reviewer decides,
    took no key at all and had no help saying so."""
    alert_id = seeded.ids[0]
    log_in(page, live_server)
    page.wait_for_selector("#rows tr")
    on_list = _help(page)
    page.goto(f"{live_server}/alerts/{alert_id}")
    page.wait_for_selector("#meta dd")
    on_alert = _help(page)
    for key in ("c", "r or d", "?"):  # the same keys for the same acts on both pages
        assert key in on_list and key in on_alert, (key, on_list, on_alert)
    assert on_alert["c"].startswith("confirm") and "dismiss" in on_alert["r or d"]
    assert "m" in on_alert and "play" in on_alert["space"]

    page.fill("#note", "cdr typed")  # a key typed as text is text
    assert _status(seeded, alert_id) == "new"
    page.locator("#note").blur()
    page.keyboard.press("c")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked confirmed.'")
    assert _status(seeded, alert_id) == "confirmed"
    page.keyboard.press("d")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    with AlertStore(seeded.url) as store:
        a = store.get_alert(alert_id)
    assert (a.status, a.note, a.reviewed_by) == ("dismissed", "cdr typed", "alice")
    page.keyboard.press("r")  # again: the review this page shows is the one it replaces (no 409)
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")

    page.keyboard.press("m")  # to the choices of "mark as normal", nothing applied
    assert page.evaluate("document.activeElement.id") == "scope-camera"
    assert _status(seeded, alert_id) == "dismissed"
    page.keyboard.press("ArrowDown")  # a radio's own keys choose the scope
    assert page.locator("#scope-all").is_checked()
    assert page.locator("#play").inner_text() == "Pause"
    page.locator("#scope-all").blur()
    page.keyboard.press(" ")
    assert page.locator("#play").inner_text() == "Play"
    page.goto("about:blank")  # closes the live stream before the server stops
