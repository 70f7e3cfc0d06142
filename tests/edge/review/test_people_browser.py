"""Two people in one camera, end to end: ``haad run`` replays a skeleton recording of two people
(one walks in place throughout and leaves, the other jumps about in between), the worker stores the
jumper's alert under their person id, and the review page in Chromium names that person and draws
where they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from review_helpers import TOKEN, free_port, make_context, running

from config.store import StoreConfig
from edge.review.app import create_app
from edge.store import AlertStore
from pose_frontend.synthetic import SyntheticPerformer
from tests.daemon_harness import demo_profiles, start_daemon

FPS = 30.0


def _two_people(path: Path) -> Path:
    """(T, 2, 20, 3): person 1 walks, jumps and walks; person 2 walks and leaves after 14 s."""
    _, jumper = SyntheticPerformer([("walk_in_place", 8.0), ("jump_flail", 5.0), ("walk_in_place", 9.0)],
                                   fps=FPS, seed=3).render()  # fmt: skip
    _, walker = SyntheticPerformer([("walk_in_place", 22.0)], fps=FPS, seed=4).render()
    n = min(len(jumper), len(walker))
    both = np.stack([jumper[:n], walker[:n]], axis=1).astype(np.float32)
    both[int(14 * FPS) :, 1] = np.nan  # person 2 has left
    np.save(path, both)
    return path


@pytest.mark.slow
def test_two_person_run_stores_the_jumpers_alert_and_the_review_page_names_them(
    tmp_path: Path,
    page,  # type: ignore[no-untyped-def]
) -> None:
    profiles = demo_profiles(tmp_path / "profiles")
    source = {
        "kind": "skeleton",
        "path": str(_two_people(tmp_path / "ward.npy")),
        "fps": FPS,
        "realtime": False,
    }
    daemon = start_daemon(tmp_path, [{"id": "ward", "source": source, "profiles": ["demo-walk"]}], profiles)
    try:
        code = daemon.proc.wait(timeout=120)  # the recording ends, the daemon drains and exits
    finally:
        daemon.stop()
    assert code == 0, daemon.log()
    url = StoreConfig(url=daemon.config["store"]["url"]).url
    with AlertStore(url) as store:
        alerts = store.list_alerts()
    assert alerts and {(a.stream_id, a.person) for a in alerts} == {("ward", 1)}, daemon.log()
    alert = alerts[-1]
    assert alert.ended_at is not None and alert.box is None  # a replay holds no image: no box

    port = free_port()
    ctx = make_context(url, profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            page.goto(base + "/")
            page.fill("#token", TOKEN)
            page.click("#login")
            page.wait_for_selector(f"tr[data-id='{alert.id}']")
            assert "ward · person 1" in page.locator(f"tr[data-id='{alert.id}']").inner_text()
            page.goto(f"{base}/alerts/{alert.id}")
            page.wait_for_function("document.getElementById('meta').textContent.includes('person')")
            meta = page.locator("#meta").inner_text()
            assert "person\n1" in meta or "person\t1" in meta, meta
    finally:
        ctx.store.close()
