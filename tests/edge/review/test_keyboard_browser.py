"""The alert page and the timeline from the keyboard alone, in a real browser (Chromium through
Playwright, a real Uvicorn server): every alert and picture a mouse can open, Tab and Enter can."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import cv2
import numpy as np
from review_helpers import Seeded, free_port, log_in, make_context, running

from edge.review.app import create_app
from edge.store import AlertStore


def test_each_timeline_bar_is_a_link_the_keyboard_follows(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The bars opened an alert on a mouse click only."""
    now = datetime.now(UTC)
    log_in(page, live_server, "/timeline?" + urlencode({"since": (now - timedelta(hours=6)).isoformat()}))
    page.wait_for_function("document.querySelectorAll('#tl rect.bar').length === 6")
    newest = seeded.ids[-1]
    link = page.locator(f"#tl a[href='/alerts/{newest}']")
    assert (link.get_attribute("aria-label") or "").startswith(f"alert {newest}: yard")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/alerts/{newest}")


def test_a_keyframe_is_picked_from_the_keyboard(page, seeded: Seeded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The keyframes were images with a click handler: no Tab stop, no Enter."""
    alert_id = seeded.ids[0]
    with AlertStore(seeded.url) as store:
        folder = tmp_path / "snapshots" / store.get_alert(alert_id).episode_key
    folder.mkdir(parents=True)
    for i in range(2):
        ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 60 * i, np.uint8))
        assert ok
        (folder / f"{i:02d}.jpg").write_bytes(jpeg.tobytes())
    frames = [{"name": "00.jpg", "t": 1.0}, {"name": "01.jpg", "t": 2.5}]
    (folder / "index.json").write_text(
        json.dumps({"mode": "keyframes", "frames": frames, "thumbnail": "01.jpg"})
    )
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, snapshots_dir=tmp_path / "snapshots", port=port)
    try:
        with running(create_app(ctx), port) as base:
            log_in(page, base, f"/alerts/{alert_id}")
            page.wait_for_selector("#scene-strip button")
            assert page.get_by_label("note").count() == 1
            page.locator("#scene-strip button").nth(1).focus()
            page.keyboard.press("Enter")
            assert page.locator("#scene-caption").inner_text() == "keyframe 2/2 · t = +1.50 s"
            assert page.locator("#scene-strip button").nth(1).get_attribute("aria-pressed") == "true"
            page.goto("about:blank")
    finally:
        ctx.store.close()


def test_every_column_has_a_name_and_no_profiles_is_said(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """The select and picture columns (and a profile's "make current") had empty headers, and with no
    profile the profiles page was a bare table head."""
    log_in(page, live_server)
    page.wait_for_selector("#rows tr")
    assert page.get_by_role("columnheader", name="select").count() == 1
    assert page.get_by_role("columnheader", name="picture").count() == 1
    page.goto(live_server + "/profiles/demo-walk")
    page.wait_for_selector("#version-rows tr")
    assert page.get_by_role("columnheader", name="make current").count() == 1
    shutil.rmtree(seeded.profiles / "demo-walk")
    page.goto(live_server + "/profiles")
    page.wait_for_selector("#profile-rows td")
    assert page.locator("#profile-rows").inner_text() == "No profile yet: enrol one (haad enroll)."
    page.goto("about:blank")
