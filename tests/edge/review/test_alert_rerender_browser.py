"""An alert's page, drawn again as it reads the alert (after a review made there, at each live change
of it). A read answered after a later one was shown put the alert's earlier state back: the page
said "new" again after "Marked confirmed.", "Reviewed meanwhile by …: new", and made its next review
over the older one (refused as stale). In a real browser, a real Uvicorn server on a SQLite log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from review_helpers import Seeded, demo_alert

from edge.store import AlertStore

# The status badge's and the review message's every text, in order.
RECORD = """
window.shown = { status: [], msg: [] };
new MutationObserver(() => {
  const badge = document.querySelector("#status-badge .status")?.textContent, msg = document.getElementById("review-msg")?.textContent;
  if (badge && window.shown.status.at(-1) !== badge) window.shown.status.push(badge);
  if (msg && window.shown.msg.at(-1) !== msg) window.shown.msg.push(msg);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def test_a_read_answered_late_does_not_put_back_the_state_before_a_review(  # type: ignore[no-untyped-def]
    module_page, module_server: str, module_log: Seeded
) -> None:
    with AlertStore(module_log.url) as store:
        (alert_id,) = store.write_alerts(
            [
                demo_alert(
                    "door",
                    "demo-walk",
                    datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6),
                    seed=41,
                )
            ]
        )
    reads: list[int] = []
    held = []  # the page's second read (its catch-up as the live stream opens), read now, answered late

    def answer(route):  # type: ignore[no-untyped-def]
        if route.request.method != "GET":
            route.continue_()
            return
        reads.append(1)
        if len(reads) == 2:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page = module_page
    page.add_init_script(RECORD)
    page.route(f"**/api/v1/alerts/{alert_id}", answer)
    page.goto(f"{module_server}/alerts/{alert_id}")
    page.wait_for_function("document.getElementById('alert').dataset.live === 'on'", timeout=15_000)
    for _ in range(300):  # until the route's handler has read the alert
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the page did not read the alert again as its live stream opened"
    page.click("#confirm")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked confirmed.'")
    ((route, fetched),) = held
    route.fulfill(response=fetched)  # the alert as it was before the confirm
    # A colleague's review after it: its live read comes once the late answer has been dealt with.
    with AlertStore(module_log.url) as store:
        store.set_status(alert_id, "dismissed", "bob: a cat", reviewer="bob")
    page.wait_for_function(
        "document.getElementById('review-msg').textContent.startsWith('Reviewed meanwhile by bob')",
        timeout=15_000,
    )
    shown = page.evaluate("window.shown")
    assert shown["status"] == ["new", "confirmed", "dismissed"], shown
    assert not [m for m in shown["msg"] if "new." in m], shown
    # The page's next review is made over bob's, the one it shows: accepted.
    page.click("#reopen")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked new.'")


def test_an_undo_here_leaves_the_note_box_as_it_was(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The undo writes its own note on the alert ("undone: removed from …"); the page's next "normal"
    sends what the note box holds, and recorded that note as its own."""
    with AlertStore(module_log.url) as store:
        (alert_id,) = store.write_alerts(
            [
                demo_alert(
                    "door",
                    "demo-walk",
                    datetime.now(UTC).replace(microsecond=0) - timedelta(hours=7),
                    seed=42,
                )
            ]
        )
    page = module_page
    page.goto(f"{module_server}/alerts/{alert_id}")
    done = "!document.getElementById('confirm').disabled && document.getElementById('review-msg').textContent !== '…'"
    for action in ("#normal", "#undo", "#normal"):
        page.wait_for_selector(f"{action}:not([disabled])", state="visible", timeout=30_000)
        page.click(action)
        page.wait_for_function(done, timeout=60_000)
    assert page.input_value("#note") == ""
    history = page.locator("#history li").all_inner_texts()
    assert len(history) == 3 and "undone" not in history[-1], history


def test_the_status_is_one_badge(module_page, module_server: str, module_log: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The badge was drawn inside a second, grey one (its holder styled as a status): a grey tail beside
    "new" or "confirmed", and an empty grey pill before the alert had loaded."""
    module_page.goto(f"{module_server}/alerts/{module_log.ids[0]}")
    module_page.wait_for_selector("#status-badge .status")
    assert module_page.locator("#status-badge .status").count() == 1
    assert (
        module_page.eval_on_selector("#status-badge", "e => getComputedStyle(e).backgroundColor")
        == "rgba(0, 0, 0, 0)"
    )
