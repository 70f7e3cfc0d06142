"""The scene of a real-video alert in a real browser: ``haad demo --video`` on the squat video (real
MediaPipe, frontend, worker), then the review server on its alert log and pictures, in Chromium:
the list shows the alert's thumbnail, its page the keyframes with the person's box."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from review_helpers import free_port, log_in, make_context, running

from edge.demo import PROFILES_DIR
from edge.review.app import create_app
from edge.store import AlertStore

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow  # the whole pipeline on a 13 s video
def test_a_real_video_alert_shows_its_thumbnail_and_keyframes(page, data_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video = data_root / "mediapipe_pose_testdata" / "pose_squats.mp4"
    run = subprocess.run(
        [sys.executable, "-m", "haad", "demo", "--video", str(video), "--workdir", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert stat.S_IMODE((tmp_path / "snapshots").stat().st_mode) == 0o700  # pictures of people: ours alone
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(url) as store:
        [alert] = store.list_alerts()
    port = free_port()
    ctx = make_context(url, PROFILES_DIR, snapshots_dir=tmp_path / "snapshots" / "alerts", port=port)
    try:
        with running(create_app(ctx), port) as base:
            log_in(page, base)
            thumb = f"#rows tr[data-id='{alert.id}'] img.thumb"
            page.wait_for_selector(thumb)
            page.wait_for_function(f'document.querySelector("{thumb}").naturalWidth === 320')
            page.click(f"#rows tr[data-id='{alert.id}'] td:nth-child(4)")
            page.wait_for_url(f"**/alerts/{alert.id}")
            page.wait_for_function("document.getElementById('scene-img').naturalWidth === 320")
            assert page.locator("#scene").is_visible()
            # first, peak, last (one picture where the peak is the first or last hot window's end)
            n = page.locator("#scene-strip img").count()
            assert n in (2, 3) and f"keyframe 1/{n}" in page.locator("#scene-caption").inner_text()
            page.goto("about:blank")
    finally:
        ctx.store.close()
