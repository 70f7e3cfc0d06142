"""The review pages in a real browser (Playwright driving Debian's Chromium) against a real Uvicorn
server on a seeded SQLite log: log in, filter, open an alert, watch it play, mark it normal."""

from __future__ import annotations

import dataclasses
import functools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from review_helpers import Seeded, demo_alert, log_in, performance_windows

from edge.profiles import ProfileStore
from edge.store import AlertStore

# The README's screenshot comes from this test: HAAD_UPDATE_SCREENSHOT=1 rewrites it (a plain run leaves
# the committed image alone and shoots into its temporary folder).
README_SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "img" / "alert-detail.jpg"


def _canvas_pixels(page) -> np.ndarray:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    png = page.locator("#playback").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.int16)


def test_log_in_filter_open_an_alert_play_it_and_mark_it_normal(
    page, live_server: str, seeded: Seeded, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, wrong_first=True)  # a wrong token refused on the page, then the right one
    page.wait_for_selector("#rows tr")
    assert page.locator("#rows tr").count() == 6
    assert page.locator("#unreviewed").inner_text() == "6"
    page.select_option("#f-stream", "door")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    assert "stream=door" in page.url
    page.select_option("#f-status", "confirmed")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 0")
    page.select_option("#f-status", "")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    newest_door = seeded.ids[2]
    page.click(f"#rows tr[data-id='{newest_door}'] td:nth-child(2)")
    page.wait_for_url(f"**/alerts/{newest_door}")

    # Playback: the canvas draws the skeleton, and frames change while it plays.
    page.wait_for_function("document.getElementById('clock').textContent.includes('frame')")
    first = _canvas_pixels(page)
    assert (first < 200).sum() > 200  # bones and joints were drawn
    page.wait_for_timeout(400)
    second = _canvas_pixels(page)
    assert np.abs(first - second).sum() > 0, "the playback canvas did not change"
    with AlertStore(seeded.url) as store:  # the score moment by moment, not the 6 stored windows
        line = store.get_alert(newest_door).timeline
    assert line is not None and len(line) > 6
    assert page.locator("#timeline circle.score").count() == len(line)
    assert page.locator("#timeline line.threshold").count() == 1
    assert page.locator("#meta").inner_text().count("demo-walk v1") == 1

    # Pause and scrub to the peak window for a steady picture, then keep it for the README.
    page.click("#play")
    page.locator("#scrub").fill("150")
    page.fill("#note", "stretching after a delivery")
    shot = README_SCREENSHOT if os.environ.get("HAAD_UPDATE_SCREENSHOT") else tmp_path / "alert-detail.jpg"
    page.screenshot(path=str(shot), type="jpeg", quality=70, full_page=True)
    assert 10_000 < shot.stat().st_size < 200_000

    page.wait_for_function("document.getElementById('scope-all-text').textContent.includes('dock')")
    page.check("#scope-all")
    page.click("#normal")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Normal for')")
    assert "Normal for dock, door: behaviour alert-" in page.locator("#review-msg").inner_text()
    assert "to profile demo-walk, v2" in page.locator("#review-msg").inner_text()
    assert page.locator("#status-badge").inner_text() == "dismissed"
    assert page.locator("#undo").is_visible() and not page.locator("#normal").is_visible()
    v2 = ProfileStore(seeded.profiles).load("demo-walk")
    assert v2.version == 2 and v2.meta["feedback"][0]["alert_ids"] == [newest_door]
    assert v2.meta["feedback"][0]["reviewer"] == "alice"

    page.goto(live_server + "/profiles/demo-walk")
    page.wait_for_selector("#version-rows tr")
    assert page.locator("#version-rows tr").count() == 2
    assert "alert(s) " + str(newest_door) in page.locator("#version-rows").inner_text()
    assert (
        f"alert-{newest_door} (marked normal: alert(s) {newest_door}"
        in page.locator("#behaviour-rows").inner_text()
    )

    # An alert of a profile this host lacks says so before a scope is picked, and cannot be pressed.
    page.goto(f"{live_server}/alerts/{seeded.ids[5]}")
    page.wait_for_selector("#normal-why:not(:empty)")
    assert page.locator("#normal-why").inner_text() == (
        "Profile other is not enrolled on this host: mark it normal where it is."
    )
    assert page.locator("#normal").is_disabled()
    page.click("#dismiss")  # another action leaves it so
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    assert page.locator("#normal").is_disabled()


def test_live_and_profile_pages_render(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, "/live")
    page.wait_for_selector(".stream")
    assert page.locator(".stream").count() == 3  # door, dock, yard: configured streams
    # Its episode is open, but no worker ever wrote its status: unknown, not ABNORMAL as if current
    # (with a current status row it is: test_stale_state_browser).
    dock = page.locator(".stream[data-stream='dock']").inner_text()
    assert "ABNORMAL" not in dock and "unknown" in dock and "1 open alert(s), state unknown" in dock
    page.goto(live_server + "/profiles")
    page.wait_for_selector("#profile-rows tr")
    assert "dock, door" in page.locator("#profile-rows").inner_text()


def test_a_second_review_on_the_page_keeps_the_first_reviewers_note(  # type: ignore[no-untyped-def]
    page, live_server: str, seeded: Seeded
) -> None:
    """The note box came up empty and a review sent it: dismissing an alert erased its note."""
    alert_id = seeded.ids[0]
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", "ladder left in aisle 3 <b>ü</b>", reviewer="bob")
    log_in(page, live_server, f"/alerts/{alert_id}")
    page.wait_for_function("document.getElementById('note').value !== ''")
    assert page.input_value("#note") == "ladder left in aisle 3 <b>ü</b>"
    page.click("#dismiss")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    with AlertStore(seeded.url) as store:
        a = store.get_alert(alert_id)
    assert (a.status, a.note) == ("dismissed", "ladder left in aisle 3 <b>ü</b>")


def test_an_alert_whose_windows_retention_dropped_offers_no_download_of_them(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Its page still linked "windows .npz", which opened the API's JSON 404."""
    from config.store import RetentionConfig
    from edge.store.retention import prune

    with AlertStore(seeded.url) as store:
        prune(store, RetentionConfig(windows_days=0.1, max_age_days=0, max_rows=0), profiles_dir=None)
    log_in(page, live_server, f"/alerts/{seeded.ids[0]}")
    page.wait_for_selector("#no-windows", state="visible")
    assert not page.locator("#npz-link").is_visible() and page.locator("#plot-link").is_visible()
    page.goto(f"{live_server}/alerts/{seeded.ids[-1]}")  # newer: its windows kept
    page.wait_for_selector("#clock:not(:empty)")
    assert page.locator("#npz-link").is_visible()


def test_reopen_is_offered_only_for_a_reviewed_alert(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """A new alert offered "reopen", which recorded a review by the reviewer that changed nothing."""
    log_in(page, live_server, f"/alerts/{seeded.ids[0]}")
    page.wait_for_selector("#meta dt")
    assert not page.locator("#reopen").is_visible()
    page.click("#dismiss")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    page.click("#reopen")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked new.'")
    assert not page.locator("#reopen").is_visible()


def test_an_open_alerts_page_follows_it_until_it_ends(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The page of an alert still going on stayed as first loaded ("ended: open") after the episode
    closed, while the list beside it updated live. Followed, an ``a+b`` alert's update put its
    profile choice back to the first while "Mark as normal" still named the one chosen."""
    started = datetime.now(UTC).replace(microsecond=0)
    state = functools.partial(demo_alert, "dock", "demo-walk+other", started, seed=9)
    with AlertStore(seeded.url) as store:  # written as the daemon writes an episode's states
        [open_id] = store.write_alerts([state(closed=False)])
    log_in(page, live_server, f"/alerts/{open_id}")
    page.wait_for_selector("#scope-all-text:has-text('demo-walk')")
    following = "document.getElementById('alert').dataset.live"
    page.wait_for_function(f"{following} === 'on'", timeout=10_000)
    page.select_option("#normal-profile", "other")
    page.wait_for_selector("#scope-all-text:has-text('other')")
    with AlertStore(seeded.url) as store:  # it goes on, hotter
        assert store.write_alerts([state(closed=False, threshold=1.2)]) == [open_id]
    page.wait_for_function(f"{_meta_dd('threshold')}.textContent === '1.200'", timeout=10_000)
    assert page.locator("#normal-profile").input_value() == "other"
    with AlertStore(seeded.url) as store:  # and closes
        assert store.write_alerts([state(threshold=1.2)]) == [open_id]
    page.wait_for_function(f"{_meta_dd('ended')}.textContent !== 'open'", timeout=10_000)
    assert page.locator("#meta").inner_text().count("open") == 0  # ended, duration
    # Ended, it no longer says "open", and goes on following the alert's reviews (made elsewhere too).
    page.wait_for_function("document.getElementById('live-state').textContent === ''")
    assert page.evaluate(following) == "on"
    page.goto("about:blank")  # closes the live stream before the server stops


def _meta_dd(key: str) -> str:
    return f"[...document.querySelectorAll('#meta dt')].find((dt) => dt.textContent === '{key}').nextSibling"


def test_an_open_alerts_playback_follows_its_kept_windows(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The playback of an alert opened while it went on kept the windows of its first moments, after
    it had ended too (a later peak, its last hot windows: never played)."""
    started = datetime.now(UTC).replace(microsecond=0)
    opened = demo_alert("dock", "demo-walk", started, seed=9, closed=False)
    with AlertStore(seeded.url) as store:
        [open_id] = store.write_alerts([opened])
    log_in(page, live_server, f"/alerts/{open_id}")
    scrub_max = "document.getElementById('scrub').max"
    page.wait_for_function(f"{scrub_max} === '84'")  # 6 windows of 60 frames, 5 apart
    page.wait_for_function("document.getElementById('alert').dataset.live === 'on'", timeout=10_000)
    windows, spans = performance_windows("jump_flail", 6.0, 9, 10)
    scores = np.linspace(0.95, 1.5, len(windows))
    ended = dataclasses.replace(
        opened, ended_at=started + timedelta(seconds=8), windows=windows, window_times=spans,
        window_scores=scores, n_windows=12, peak_score=1.5,
    )  # fmt: skip
    with AlertStore(seeded.url) as store:
        assert store.write_alerts([ended]) == [open_id]
    page.wait_for_function(f"{scrub_max} === '104'", timeout=10_000)  # 10 windows
    page.goto("about:blank")  # closes the live stream before the server stops
