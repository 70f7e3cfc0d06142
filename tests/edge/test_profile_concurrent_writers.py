"""Every writer of one profile at the same moment: reviewers marking different alerts normal (two
`haad alerts review` processes and the review API, for every camera and for one camera) while `haad
enroll --behaviour` adds a behaviour, and a worker hot-loads all along. Each version holds all the
work of those before it, no two files claim one version number, and the worker never loads a
half-written one."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from clips import Clip
from clips.files import save_clipset_file
from edge.feedback import current_feedback
from edge.overlays import overlay_store
from edge.profiles import ProfileStore, ProfileWatcher, profile_lock
from edge.store import AlertStore
from pose_frontend.synthetic import SyntheticPerformer
from tests.edge.review.review_helpers import Seeded, seed
from tests.forked import haad_script, start_forked, wait_forked


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    return seed(f"sqlite:///{tmp_path / 'alerts.db'}", profiles)


# A reviewer marking an alert normal for every camera through the review API (in its own process).
_API_MARK = """
from pathlib import Path
from fastapi.testclient import TestClient
from edge.review.app import create_app
from tests.edge.review.review_helpers import AUTH, BASE_URL, make_context

ctx = make_context({url!r}, Path({profiles!r}))
with TestClient(create_app(ctx), base_url=BASE_URL) as client:
    r = client.post("/api/v1/alerts/{alert_id}/normal", json={{"scope": "all"}}, headers=AUTH)
assert r.status_code == 200, r.text
"""


def _waiting_for(lock: Path) -> int:
    """How many takers wait for the flock on ``lock`` (blocked ones show as ``->`` in /proc/locks)."""
    inode = f":{lock.stat().st_ino} "
    return sum(
        " -> FLOCK " in line and inode in line for line in Path("/proc/locks").read_text().splitlines()
    )


def _squats(path: Path) -> Path:
    """Two clips of squatting (synthetic skeleton motion, 4 s each) as a clip-set file."""
    clips = []
    for i in range(2):
        times, joints = SyntheticPerformer([("squat", 4.0)], fps=30.0, seed=10 + i).render()
        clips.append(Clip(joints, times, "squat", name=f"squat{i}"))
    save_clipset_file(path, clips)
    return path


def test_reviewers_and_an_enrolment_writing_one_profile_at_once_lose_nothing_and_forge_no_version(
    tmp_path: Path, seeded: Seeded
) -> None:
    store = ProfileStore(seeded.profiles)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles)}))
    door_1, door_2, door_3, dock, _, _ = seeded.ids
    review = ["alerts", "review", "--yes", "--config", str(cfg), "--normal", "--scope"]
    commands = [
        [*review, "all", str(door_1)],
        [*review, "all", str(door_2)],
        [*review, "camera", str(door_3)],
        ["enroll", "--profile", "demo-walk", "--behaviour", "squatting", "--config", str(cfg),
         str(_squats(tmp_path / "squats.npz"))],
    ]  # fmt: skip
    scripts = [
        *(haad_script(*c) for c in commands),
        _API_MARK.format(url=seeded.url, profiles=str(seeded.profiles), alert_id=dock),
    ]
    lock = seeded.profiles / "demo-walk" / ".feedback.lock"
    with profile_lock(store, "demo-walk"):  # each writer gets as far as the lock, then all go at once
        pids = [start_forked(script, tmp_path / f"said{i}") for i, script in enumerate(scripts)]
        deadline = time.monotonic() + 60
        while _waiting_for(lock) < len(scripts):
            ended = [i for i, p in enumerate(pids) if os.waitpid(p, os.WNOHANG) != (0, 0)]
            assert time.monotonic() < deadline and not ended, [
                (tmp_path / f"said{i}.err").read_text() for i in ended
            ]
            time.sleep(0.05)
    # The lock released: the writers go one after another while a worker hot-loads.
    watcher = ProfileWatcher(store, {"demo-walk"})
    loaded: list[int] = []  # the versions the worker took
    refused: list[str] = []  # why it refused one
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            changed, failed, _ = watcher.poll()
            loaded.extend(p.version for p in changed)
            refused.extend(failed.values())

    polling = threading.Thread(target=worker)
    polling.start()
    try:
        said = [wait_forked(p, tmp_path / f"said{i}", 120) for i, p in enumerate(pids)]
    finally:
        stop.set()
        polling.join()
    assert [s.returncode for s in said] == [0] * len(scripts), [s.stderr for s in said]
    assert not refused and loaded == sorted(set(loaded)) and loaded[-1] == 5  # v1 + four writers of it

    # Every version's file names its own number, and holds what each version before it held.
    versions = [
        json.loads((seeded.profiles / "demo-walk" / f"v{v:04d}.json").read_text()) for v in range(1, 6)
    ]
    assert [m["version"] for m in versions] == [1, 2, 3, 4, 5] and store.versions("demo-walk") == [
        1,
        2,
        3,
        4,
        5,
    ]
    for before, after in zip(versions, versions[1:], strict=False):
        assert set(before.get("feedback_groups", {})) <= set(after.get("feedback_groups", {}))
        assert {b["name"] for b in before["behaviours"]} <= {b["name"] for b in after["behaviours"]}
    latest = store.load("demo-walk")
    assert set(latest.meta["feedback_groups"]) == {str(door_1), str(door_2), str(dock)}
    assert "squatting" in {b["name"] for b in latest.behaviour_table if b["kind"] == "enrolled"}
    assert overlay_store(store, "demo-walk").versions("door") == [1]
    with AlertStore(seeded.url) as log:
        where = {i: current_feedback(log, store, i) for i in (door_1, door_2, door_3, dock)}
        assert where == {
            door_1: "demo-walk",
            door_2: "demo-walk",
            door_3: "demo-walk@door",
            dock: "demo-walk",
        }
        assert {log.get_alert(i).status for i in where} == {"dismissed"}
    assert np.isfinite(latest.threshold)
