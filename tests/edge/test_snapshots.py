"""Alert pictures: the frontend's frame ring (pose_frontend/snapshots.py) and the keyframes or clip
each alert keeps of it (edge/snapshots.py), on real files."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from edge.episodes import Episode, EpisodeEvent, KeptWindow
from edge.snapshots import CLIP_FRAMES, SnapshotKeeper, prune_snapshots, read_index
from pose_frontend import snapshots as ring_module
from pose_frontend.snapshots import FrameRing, frame_time, landmark_box


def _ring(folder: Path, seconds: float, fps: float = 8.0) -> FrameRing:
    ring = FrameRing(folder / "ring" / "cam")
    rng = np.random.default_rng(0)
    person = np.array([[100.0, 50.0], [300.0, 400.0]])  # a box's corners in pixels of a 640x480 frame
    for i in range(int(seconds * fps)):
        ring.add(
            i / fps, rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), [landmark_box(person, 640, 480)]
        )
    return ring


def _event(kind: str, start: float, peak: float, end: float) -> EpisodeEvent:
    frames = np.zeros((60, 20, 3), np.float32)
    ep = Episode(
        episode_id="ep1", stream_id="cam", profile="walk", threshold=1.0, start=start, end=end, peak_score=2.0,
        peak_t_start=peak - 2.95, peak_t_end=peak, mean_score=1.5, n_windows=9, n_hot=9,
        windows=(KeptWindow(start, start + 2.95, 1.5, frames), KeptWindow(end - 2.95, end, 1.2, frames)),
    )  # fmt: skip
    return EpisodeEvent(kind, ep, None, 0.0)  # type: ignore[arg-type]


def test_the_ring_keeps_downscaled_frames_at_most_4_per_second_for_its_span(tmp_path: Path) -> None:
    ring = _ring(tmp_path, 10.0)
    names = sorted(p.name for p in ring.folder.glob("*.jpg"))
    times = [frame_time(n) for n in names]
    assert len(names) == 40 and np.allclose(np.diff(times), 0.25)  # 8 fps in, 4 fps kept
    from PIL import Image

    assert Image.open(ring.folder / names[0]).size == (320, 240)
    ring.add(10.0 + ring_module.SECONDS, np.zeros((480, 640, 3), np.uint8), [])
    assert sorted(p.name for p in ring.folder.glob("*.jpg"))[0] != names[0]  # older than the span: gone


def test_keyframes_are_the_first_the_peak_and_the_last_with_the_peak_as_thumbnail(tmp_path: Path) -> None:
    _ring(tmp_path, 20.0)
    keeper = SnapshotKeeper(tmp_path / "ring", tmp_path / "alerts", {"cam": "keyframes"})
    keeper.keep([_event("opened", 4.0, 9.0, 9.0)])
    assert read_index(tmp_path / "alerts", "ep1")["thumbnail"] == "01.jpg"  # type: ignore[index]
    keeper.keep([_event("closed", 4.0, 9.0, 15.0)])
    index = read_index(tmp_path / "alerts", "ep1")
    assert index is not None and index["mode"] == "keyframes"
    assert [f["t"] for f in index["frames"]] == [7.0, 9.0, 15.0] and index["thumbnail"] == "01.jpg"
    assert all((tmp_path / "alerts" / "ep1" / f["name"]).stat().st_size > 1000 for f in index["frames"])


def test_a_clip_is_every_ring_frame_of_the_episode_thinned_to_its_limit_and_off_keeps_nothing(
    tmp_path: Path,
) -> None:
    _ring(tmp_path, 20.0)
    SnapshotKeeper(tmp_path / "ring", tmp_path / "alerts", {"cam": "clip"}).keep(
        [_event("closed", 2.0, 9.0, 16.0)]
    )
    frames = read_index(tmp_path / "alerts", "ep1")["frames"]  # type: ignore[index]
    assert (
        CLIP_FRAMES // 2 <= len(frames) <= CLIP_FRAMES and frames[0]["t"] == 1.0 and frames[-1]["t"] >= 16.0
    )
    SnapshotKeeper(tmp_path / "ring", tmp_path / "off", {"cam": "off"}).keep(
        [_event("closed", 2.0, 9.0, 16.0)]
    )
    assert not (tmp_path / "off").exists()


def test_pictures_that_cannot_be_written_are_counted_never_raised(tmp_path: Path) -> None:
    ring = _ring(tmp_path, 5.0)
    ring.add(
        6.0, np.zeros((480, 640, 3), np.uint8), [landmark_box(np.full((33, 3), np.nan), 640, 480)]
    )  # no box to draw: still a frame
    assert (ring.folder / "000000006000.jpg").exists()
    (tmp_path / "alerts").write_text("a file where the folder should be")
    keeper = SnapshotKeeper(tmp_path / "ring", tmp_path / "alerts", {"cam": "keyframes"})
    keeper.keep([_event("closed", 1.0, 2.0, 4.0)])
    assert keeper.failures == 1


@pytest.mark.parametrize("days", [1.0, 0.0])
def test_retention_removes_picture_folders_older_than_windows_days(tmp_path: Path, days: float) -> None:
    for name, age_days in (("old", 3.0), ("new", 0.1)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.json").write_text(json.dumps({}))
        then = time.time() - age_days * 86_400
        os.utime(tmp_path / name, (then, then))
    gone = prune_snapshots(tmp_path, days)
    assert (gone, sorted(p.name for p in tmp_path.iterdir())) == (
        (1, ["new"]) if days else (0, ["new", "old"])
    )


def test_only_camera_streams_with_snapshots_on_and_a_local_frontend_keep_pictures() -> None:
    from config.edge import EdgeConfig
    from edge.snapshots import snapshot_modes

    streams = [
        {"id": "door", "source": {"kind": "webcam", "index": 0}},
        {"id": "yard", "source": {"kind": "video", "path": "x.mp4"}, "snapshots": "clip"},
        {"id": "ward", "source": {"kind": "webcam", "index": 1}, "snapshots": "off"},
        {"id": "sim", "source": {"kind": "synthetic"}},
    ]
    assert snapshot_modes(EdgeConfig.model_validate({"streams": streams})) == {
        "door": "keyframes",
        "yard": "clip",
    }
    remote = EdgeConfig.model_validate({"streams": streams, "run_frontends": False})
    assert snapshot_modes(remote) == {}


def test_the_pictures_folder_is_made_private_also_where_it_existed_open(tmp_path: Path) -> None:
    # It was 0755 (the umask's), so every local user could read the pictures of people it holds.
    from config.edge import EdgeConfig
    from edge.snapshots import make_pictures_private

    cfg = EdgeConfig.model_validate({"state_dir": str(tmp_path / "state")})
    make_pictures_private(cfg)
    root = tmp_path / "state" / "snapshots"
    assert root.stat().st_mode & 0o777 == 0o700
    root.chmod(0o755)
    make_pictures_private(cfg)
    assert root.stat().st_mode & 0o777 == 0o700


def test_a_frame_of_several_people_has_every_persons_box_drawn(tmp_path: Path) -> None:
    from PIL import Image

    ring = FrameRing(tmp_path / "ring" / "cam")
    left, right = (0.05, 0.1, 0.3, 0.9), (0.6, 0.2, 0.9, 0.8)  # fractions of the frame (issue 22's boxes)
    ring.add(0.0, np.zeros((480, 640, 3), np.uint8), [left, None, right])
    rgb = np.asarray(Image.open(ring.folder / "000000000000.jpg").convert("RGB")).astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 100)
    cols = np.flatnonzero(red.any(axis=0))
    assert red.any() and cols.min() < 0.3 * 320 and cols.max() > 0.6 * 320  # a box on each side
    assert not red[:, int(0.4 * 320) : int(0.5 * 320)].any()  # nobody between them


def _whole(alerts: Path) -> list[float]:
    """The kept pictures' times, after checking each one its index names is a whole JPEG."""
    from PIL import Image

    index = read_index(alerts, "ep1")
    assert index is not None
    for f in index["frames"]:
        Image.open(alerts / "ep1" / f["name"]).load()  # raises on a truncated or empty file
    return [f["t"] for f in index["frames"]]


@pytest.mark.parametrize("fault", ["a file in its place", "a full disk"])
def test_a_ring_folder_that_cannot_be_written_costs_pictures_only_and_is_tried_again(
    tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    """A ring folder under a regular file raised NotADirectoryError from the ring's start, so the
    camera's frontend died at every restart until the daemon gave the camera up: no more alerts."""
    from pose_frontend.base import Counters
    from tests.faults import fill

    if fault == "a full disk":
        root = request.getfixturevalue("full_disk")
        fill(root)
    else:
        root = tmp_path / "snapshots"
        root.write_text("a file where the pictures' folder should be")
    frame, counters = np.zeros((48, 64, 3), np.uint8), Counters()
    with caplog.at_level(logging.INFO, logger=ring_module.__name__):
        ring = FrameRing(root / "ring" / "cam", counters=counters)
        for i in range(12):  # 3 s at 4 fps: tried at the first frame only, counted at each
            ring.add(i / 4, frame, [None])
        assert counters["snapshot_failed"] == ring.failures == 12
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and str(ring.folder) in errors[0].getMessage()
        assert not list(root.rglob("*.tmp"))  # no empty file left by each try on a full disk
        if fault == "a full disk":
            (root / "filler").unlink()
        else:
            root.unlink()
        ring.add(ring_module.RETRY_S - 0.25, frame, [None])  # not yet tried again
        ring.add(ring_module.RETRY_S, frame, [None])
    assert [p.name for p in ring.folder.iterdir()] == ["000000010000.jpg"]
    assert counters["snapshot_failed"] == 13
    assert [r.levelno for r in caplog.records if "takes pictures again" in r.getMessage()] == [
        logging.WARNING
    ]


@pytest.mark.parametrize("full_from", ["opening", "close", "close twice, then freed"])
def test_a_full_disk_leaves_no_half_written_pictures_and_keeps_those_already_kept(
    tmp_path: Path, full_disk: Path, full_from: str
) -> None:
    """The close rewrote the opening's pictures in place (ENOSPC could leave one truncated under its
    index) and left the picture it could not write half written; the opening left a folder of them."""
    from tests.faults import fill

    _ring(tmp_path, 20.0)
    alerts = full_disk / "alerts"
    keeper = SnapshotKeeper(tmp_path / "ring", alerts, {"cam": "keyframes"})
    if full_from != "opening":
        keeper.keep([_event("opened", 4.0, 9.0, 9.0)])
        assert _whole(alerts) == [7.0, 9.0]
    fill(full_disk)
    closes = 2 if full_from.startswith("close twice") else 1
    for _ in range(closes):
        keeper.keep([_event("opened" if full_from == "opening" else "closed", 4.0, 9.0, 15.0)])
    assert keeper.failures == closes
    if full_from == "opening":
        assert not alerts.exists() or list(alerts.iterdir()) == []
        return
    assert sorted(p.name for p in alerts.iterdir()) == ["ep1"]
    assert _whole(alerts) == [7.0, 9.0]  # the opening's, untouched, and nothing half written beside them
    assert sorted(p.name for p in (alerts / "ep1").iterdir()) == ["00.jpg", "01.jpg", "index.json"]
    if full_from.endswith("freed"):
        (full_disk / "filler").unlink()
        keeper.keep([_event("closed", 4.0, 9.0, 15.0)])
        assert keeper.failures == closes and _whole(alerts) == [7.0, 9.0, 15.0]
        assert sorted(p.name for p in alerts.iterdir()) == ["ep1"]
