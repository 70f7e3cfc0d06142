"""The frontend loop in-process, and real frontend processes publishing to a real Subscriber."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bus import SkeletonFrame, Subscriber
from config.bus import BusConfig
from config.frontend import (
    EstimatorConfig,
    ImagesSourceConfig,
    PeopleConfig,
    ReconnectConfig,
    SkeletonSourceConfig,
    StreamConfig,
    SyntheticSourceConfig,
    UrlSourceConfig,
    VideoSourceConfig,
)
from pose_frontend.base import CorruptVideoError, Progress
from pose_frontend.process import FrameErrorLimit, FrontendProcess, run_stream
from pose_frontend.sources import SEAM_S
from tests.pose_frontend.frontend_helpers import Collect


def _npy(tmp_path: Path, joints: np.ndarray) -> StreamConfig:
    np.save(tmp_path / "clip.npy", joints)
    source = SkeletonSourceConfig(path=str(tmp_path / "clip.npy"), fps=10, realtime=False)
    return StreamConfig(id="replay", source=source, max_consecutive_errors=3)


def test_a_replay_of_two_people_publishes_each_with_their_id(tmp_path: Path) -> None:
    joints = np.random.default_rng(1).normal(size=(4, 2, 20, 3)).astype(np.float32)
    joints[2:, 1] = np.nan  # person 2 left
    joints[3, 0] = np.nan  # and then person 1 too
    out = Collect()
    counters = run_stream(_npy(tmp_path, joints), out, threading.Event())
    assert [[p.person_id for p in f.people] for f in out.frames] == [[1, 2], [1, 2], [1], []]
    np.testing.assert_array_equal(out.frames[1].people[1].joints, joints[1, 1])
    assert counters["no_person"] == 1


def test_replayed_skeletons_are_published_with_seq_visibility_and_no_person(tmp_path: Path) -> None:
    joints = np.random.default_rng(0).normal(size=(6, 20, 3)).astype(np.float32)
    joints[2, 5] = np.nan  # one joint missing
    joints[4] = np.nan  # nobody
    out = Collect()
    counters = run_stream(_npy(tmp_path, joints), out, threading.Event())
    assert [f.seq for f in out.frames] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([f.timestamp for f in out.frames], np.arange(6) / 10)
    assert all(f.stream_id == "replay" for f in out.frames)
    assert out.frames[4].joints is None and out.frames[4].visibility is None
    assert out.frames[2].visibility[5] == 0 and out.frames[2].visibility.sum() == 19
    np.testing.assert_array_equal(out.frames[0].joints, joints[0])
    assert counters.snapshot() == {
        "frames": 6,
        "published": 6,
        "dropped": 0,
        "no_person": 1,
        "errors": 0,
        "reconnects": 0,
        "failed_opens": 0,
        "skipped": 0,
        "below_rate": 0,
        "refused": 0,
        "snapshot_failed": 0,
    }


@pytest.fixture
def infinite_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clip files keep their infinite coordinates: the loader reads them as missing (NaN) since
    39ef84c, so a replay can no longer hand the bus a frame it refuses without this."""
    monkeypatch.setattr("clips.files._infinite_as_missing", lambda path, joints: joints)


@pytest.mark.usefixtures("infinite_kept")
def test_a_frame_the_bus_refuses_is_counted_and_its_seq_left_out(tmp_path: Path) -> None:
    joints = np.zeros((5, 20, 3), dtype=np.float32)
    joints[2, 0, 0] = np.inf  # the bus refuses infinite coordinates
    out = Collect()
    counters = run_stream(_npy(tmp_path, joints), out, threading.Event())
    assert [f.seq for f in out.frames] == [1, 2, 4, 5]  # the subscriber sees one lost frame
    assert counters["errors"] == 1 and counters["published"] == 4


@pytest.mark.usefixtures("infinite_kept")
def test_a_run_of_failed_frames_stops_the_stream(tmp_path: Path) -> None:
    joints = np.full((10, 20, 3), np.inf, dtype=np.float32)
    with pytest.raises(FrameErrorLimit, match="3 frames in a row"):
        run_stream(_npy(tmp_path, joints), Collect(), threading.Event())


def test_stop_event_ends_the_loop(tmp_path: Path) -> None:
    # Stopped at its fifth frame, not by a 0.5 s timer whose frame count (and a 1.5 s limit) a
    # loaded host could miss: an endless source ends only by the stop, at once.
    stop = threading.Event()
    config = StreamConfig(source=SyntheticSourceConfig(loop=True, realtime=True))

    class StopAtFive(Collect):
        def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
            super().publish(frame)
            if len(self.frames) == 5:  # set from another thread, as a signal handler's, and done
                setter = threading.Thread(target=stop.set)
                setter.start()
                setter.join()
            return True

    out = StopAtFive()
    loop = threading.Thread(target=run_stream, args=(config, out, stop), daemon=True)
    loop.start()
    loop.join(30)
    assert not loop.is_alive() and stop.is_set()
    assert len(out.frames) == 5


class CrashAfter(Collect):
    """Publishes ``n`` frames, then dies as a killed frontend would, right after sending the last."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
        super().publish(frame)
        if len(self.frames) == self.n:
            raise KeyboardInterrupt  # not a frame error: it ends the run, as a kill would
        return True


@pytest.mark.parametrize("crashes", [[3], [25], [3, 8]], ids=["early", "late", "twice"])
def test_a_restarted_recording_goes_on_after_its_last_published_frame(
    tmp_path: Path, crashes: list[int]
) -> None:
    # Played again from its start, a recording's frames (and its abnormal actions) would be scored,
    # and alerted, twice.
    joints = np.random.default_rng(2).normal(size=(30, 20, 3)).astype(np.float32)
    config, progress, runs = _npy(tmp_path, joints), Progress(), list[Collect]()
    for n in crashes:
        runs.append(CrashAfter(n))
        with pytest.raises(KeyboardInterrupt):
            run_stream(config, runs[-1], threading.Event(), progress=progress)
    runs.append(Collect())
    counters = run_stream(config, runs[-1], threading.Event(), progress=progress)
    frames = [f for run in runs for f in run.frames]
    assert [f.seq for f in frames] == list(range(1, 31))  # every frame once, seq continued
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(30) / 10)
    assert counters["skipped"] == sum(crashes)


class DieWhileSending(Collect):
    """Sends ``n`` frames and dies sending the next one."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
        if len(self.frames) == self.n:
            raise KeyboardInterrupt
        return super().publish(frame)


def test_a_frontend_killed_while_sending_loses_that_frame_and_never_sends_it_twice(tmp_path: Path) -> None:
    # A frame sent but not yet marked was sent again by the restart (a CI run: 541 of 540 frames).
    joints = np.random.default_rng(4).normal(size=(12, 20, 3)).astype(np.float32)
    config, progress, first, again = _npy(tmp_path, joints), Progress(), DieWhileSending(5), Collect()
    with pytest.raises(KeyboardInterrupt):
        run_stream(config, first, threading.Event(), progress=progress)
    run_stream(config, again, threading.Event(), progress=progress)
    assert [f.seq for f in first.frames + again.frames] == [1, 2, 3, 4, 5, *range(7, 13)]


def test_a_truncated_video_restarted_after_its_readable_part_ends_instead_of_failing_again(
    truncated_video: Path,
) -> None:
    # Failing again, it was restarted until given up, and each restart played the readable part again.
    config = StreamConfig(id="cut", source=VideoSourceConfig(path=str(truncated_video), realtime=False))
    progress, first = Progress(), Collect()
    with pytest.raises(CorruptVideoError, match="truncated or corrupt"):
        run_stream(config, first, threading.Event(), progress=progress)
    again = Collect()
    counters = run_stream(config, again, threading.Event(), progress=progress)
    assert 10 < len(first.frames) < 90 and again.frames == []
    assert counters["skipped"] == len(first.frames)


def test_a_restarted_loop_starts_a_new_pass_after_its_last_published_frame(tmp_path: Path) -> None:
    joints = np.random.default_rng(3).normal(size=(10, 20, 3)).astype(np.float32)
    np.save(tmp_path / "clip.npy", joints)
    source = SkeletonSourceConfig(path=str(tmp_path / "clip.npy"), fps=10, realtime=False, loop=True)
    config, progress, first = StreamConfig(id="replay", source=source), Progress(), CrashAfter(15)
    with pytest.raises(KeyboardInterrupt):
        run_stream(config, first, threading.Event(), progress=progress)
    again = CrashAfter(5)
    with pytest.raises(KeyboardInterrupt):
        run_stream(config, again, threading.Event(), progress=progress)
    assert [f.seq for f in again.frames] == [16, 17, 18, 19, 20]
    # a seam apart, as between passes: the new pass's first pose is not the one published last
    last = first.frames[-1].timestamp  # 0.4 s into the second pass: 1.4 s and a seam
    assert last == pytest.approx(1.4 + SEAM_S)
    np.testing.assert_allclose([f.timestamp for f in again.frames], last + SEAM_S + 0.1 + np.arange(5) / 10)
    np.testing.assert_array_equal(again.frames[0].joints, joints[0])


def test_a_live_camera_restarts_from_now_with_a_new_seq() -> None:
    # starts_at: the performer behaves as a camera (wall-clock time); nothing to continue
    source = SyntheticSourceConfig(realtime=True, starts_at=time.time(), loop=True)
    config, progress = StreamConfig(id="cam", source=source), Progress()
    progress.mark(500, 1.0)
    out = CrashAfter(3)
    with pytest.raises(KeyboardInterrupt):
        run_stream(config, out, threading.Event(), progress=progress)
    assert [f.seq for f in out.frames] == [1, 2, 3] and out.frames[0].timestamp > time.time() - 5


def test_a_restarted_multi_person_frontend_never_gives_an_id_again(tmp_path: Path, mp_testdata: Path) -> None:
    # A restart's tracker gave ids from 1 again: person 1 of the next frames, whoever they were,
    # continued the window and open episode of the person 1 before the crash.
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).symlink_to(mp_testdata / "three_people.jpg")
    source = ImagesSourceConfig(path=str(tmp_path), pattern="*.jpg", realtime=False)
    config = StreamConfig(id="ward", source=source, estimator=EstimatorConfig(people=PeopleConfig()))
    progress, first, again = Progress(), CrashAfter(1), Collect()
    with pytest.raises(KeyboardInterrupt):
        run_stream(config, first, threading.Event(), progress=progress)
    run_stream(config, again, threading.Event(), progress=progress)
    assert [sorted(p.person_id for p in f.people) for f in first.frames + again.frames] == [
        [1, 2, 3],
        [4, 5, 6],
    ]


def test_a_restart_keeps_the_pictures_an_open_alert_needs_and_a_new_run_does_not(
    tmp_path: Path, mp_testdata: Path
) -> None:
    # A restarted frontend emptied its stream's frame ring: an alert open across the restart (the
    # daemon restarting a killed frontend) lost the frames before it ("its pictures could not be
    # kept": No such file), though the restart continues the same clock.
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (tmp_path / name).symlink_to(mp_testdata / "pose.jpg")
    source = ImagesSourceConfig(path=str(tmp_path), pattern="*.jpg", fps=2, realtime=False)
    config, progress, ring = StreamConfig(id="cam", source=source), Progress(), tmp_path / "ring"
    with pytest.raises(KeyboardInterrupt):
        run_stream(config, CrashAfter(1), threading.Event(), progress=progress, snapshot_dir=ring)
    (ring / "cam" / "000000000500.tmp").write_bytes(b"half")  # killed while writing the next
    run_stream(config, Collect(), threading.Event(), progress=progress, snapshot_dir=ring)
    assert sorted(p.name for p in (ring / "cam").iterdir()) == [
        "000000000000.jpg",
        "000000000500.jpg",
        "000000001000.jpg",
    ]
    with pytest.raises(KeyboardInterrupt):  # a new daemon: a new clock, whose pictures are its own
        run_stream(config, CrashAfter(1), threading.Event(), progress=Progress(), snapshot_dir=ring)
    assert sorted(p.name for p in (ring / "cam").iterdir()) == ["000000000000.jpg"]


def test_a_pictures_folder_that_cannot_be_made_costs_the_pictures_never_the_skeletons(
    tmp_path: Path, mp_testdata: Path
) -> None:
    # NotADirectoryError from the ring's start stopped the stream at every restart until the daemon
    # gave the camera up: a mistake on the pictures' folder ended that camera's alerts.
    (tmp_path / "snapshots").write_text("a file where the pictures' folder should be")
    source = ImagesSourceConfig(path=str(mp_testdata / "pose.jpg"), realtime=False)
    out = Collect()
    counters = run_stream(StreamConfig(id="cam", source=source), out, threading.Event(),
                          snapshot_dir=tmp_path / "snapshots" / "ring")  # fmt: skip
    assert [f.seq for f in out.frames] == [1] and out.frames[0].person
    assert counters["published"] == counters["snapshot_failed"] == 1 and counters["errors"] == 0


# --- real processes, real bus ------------------------------------------------------------------


def _receive(sub: Subscriber, stream: str, n: int, timeout_s: float) -> list[SkeletonFrame]:
    frames: list[SkeletonFrame] = []
    deadline = time.monotonic() + timeout_s
    while len(frames) < n and time.monotonic() < deadline:
        frame = sub.recv(timeout_ms=200)
        if frame is not None and frame.stream_id == stream:
            frames.append(frame)
    return frames


@pytest.fixture
def bus(tmp_path: Path) -> BusConfig:
    return BusConfig(endpoint=f"ipc://{tmp_path}/bus.sock")


def _first_frames(video: Path, n: int, out: Path) -> Path:
    """``video``'s first ``n`` frames at its rate, as an MJPG AVI (nearly lossless)."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    fps, size = cap.get(cv2.CAP_PROP_FPS), (int(cap.get(3)), int(cap.get(4)))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    for _ in range(n):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    return out


def test_squat_video_through_a_frontend_process_arrives_complete_and_in_order(
    bus: BusConfig, squat_video: Path, tmp_path: Path
) -> None:
    # The first 3 s (15 frames at 5 fps) of the squat video: every frame a MediaPipe estimate.
    video = _first_frames(squat_video, 15, tmp_path / "squats.avi")
    config = StreamConfig(id="squats", source=VideoSourceConfig(path=str(video), realtime=False))
    with Subscriber.from_config(bus) as sub:
        proc = FrontendProcess(config, bus)
        proc.start()
        try:
            frames = _receive(sub, "squats", 15, timeout_s=90)
            # its source ended on its own (it then holds its queue open till released: no join)
            ended = proc.finished_event.wait(10)
        finally:
            code = proc.stop(timeout_s=5)
        assert sub.drops == {}
    assert [f.seq for f in frames] == list(range(1, 16))
    times = np.array([f.timestamp for f in frames])
    assert np.all(np.diff(times) > 0) and times[-1] == pytest.approx(2.8)
    assert all(f.person and f.joints.shape == (20, 3) for f in frames)
    assert ended and code == 0  # the source ended and the process exited cleanly
    assert proc.counters.snapshot()["published"] == 15 and proc.counters["errors"] == 0


def test_stop_event_ends_a_frontend_process_cleanly_and_a_dead_camera_stalls_no_other_stream(
    bus: BusConfig,
) -> None:
    live = StreamConfig(id="dancer", source=SyntheticSourceConfig(loop=True, realtime=True))
    # A camera that is not there: its process keeps retrying, the other stream flows regardless.
    dead_source = UrlSourceConfig(
        url="http://127.0.0.1:9/nothing.mjpg",
        reconnect=ReconnectConfig(initial_backoff_s=0.1, max_backoff_s=0.2),
    )
    dead = StreamConfig(id="dead", source=dead_source)
    with Subscriber.from_config(bus) as sub:
        procs = [FrontendProcess(live, bus), FrontendProcess(dead, bus)]
        for p in procs:
            p.start()
        try:
            deadline = time.monotonic() + 60
            while procs[1].counters["failed_opens"] < 1 and time.monotonic() < deadline:
                sub.recv(timeout_ms=100)  # polling also lets the subscriber take in the connections
            first = _receive(sub, "dancer", 1, timeout_s=60)
            # 30 in a row (about 1 s at 30 fps) while the dead one retries; no timing assert (it
            # was < 3 s): a stalled stream sends none in these 30 s, a loaded host's are late.
            frames = _receive(sub, "dancer", 30, timeout_s=30)
        finally:
            stop_started = time.monotonic()
            codes = [p.stop(timeout_s=5) for p in procs]
            stop_s = time.monotonic() - stop_started
    assert first and len(frames) == 30
    assert [f.seq for f in frames] == list(range(first[0].seq + 1, first[0].seq + 31))
    assert codes == [0, 0] and stop_s < 5
    # The dead camera was being retried all along, and nothing of it reached the bus.
    assert procs[1].counters["failed_opens"] >= 2 and procs[1].counters["published"] == 0


def test_a_missing_video_ends_its_process_with_an_error_code(bus: BusConfig, tmp_path: Path) -> None:
    config = StreamConfig(id="gone", source=VideoSourceConfig(path=str(tmp_path / "gone.mp4")))
    proc = FrontendProcess(config, bus)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 1


def test_an_unexpected_failure_is_one_error_naming_the_stream_with_its_traceback(
    bus: BusConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Uncaught, it was multiprocessing's bare traceback on stderr ("Process haad-frontend-door:" at
    # INFO, then the traceback), naming no camera; the daemon restarts the process on exit code 1.
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pose_frontend.process.run_stream", full_disk)
    config = StreamConfig(id="door", source=VideoSourceConfig(path=str(tmp_path / "door.mp4")))
    assert FrontendProcess(config, bus).publish() == 1
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage() == "stream door failed: OSError: [Errno 28] No space left on device"
    assert error.exc_info is not None and error.exc_info[0] is OSError


def test_a_sigterm_to_the_process_group_leaves_the_frontend_to_its_parent(bus: BusConfig) -> None:
    # `timeout 60 haad run` and `kill -TERM -PGID` reach every process: a frontend died inside its
    # stop event's wait (real-time pacing), and the daemon's stop_event.set() then hung for good.
    script = [{"motion": "idle", "seconds": 600}]
    config = StreamConfig(id="cam", source=SyntheticSourceConfig(script=script))  # type: ignore[arg-type]
    proc = FrontendProcess(config, bus)
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while proc.counters["frames"] < 3:
            assert time.monotonic() < deadline and proc.is_alive()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)
        proc.join(0.5)
        assert proc.is_alive()
        assert proc.stop(10.0) == 0
    finally:
        if proc.is_alive():
            proc.kill()


def test_pose_frontend_never_imports_torch(tmp_path: Path) -> None:
    # Every module, MediaPipe started, and a stream run from a synthetic and a clip-set source.
    code = f"""
import sys, threading
import numpy as np
import haad.cli.frontend, pose_frontend.process, pose_frontend.record
from config.frontend import EstimatorConfig, SkeletonSourceConfig, StreamConfig, SyntheticSourceConfig
from pose_frontend.estimator import open_estimator
from pose_frontend.process import run_stream
from clips import Clip
from clips.files import save_clipset_file

class Drop:
    def publish(self, frame, wait=None):
        return True

open_estimator(EstimatorConfig()).close()
run_stream(StreamConfig(source=SyntheticSourceConfig(realtime=False)), Drop(), threading.Event())
clip = Clip(np.zeros((3, 20, 3), np.float32), np.arange(3) / 30, "a", "s", "c")
save_clipset_file(r"{tmp_path}/c.npz", [clip])
replay = SkeletonSourceConfig(path=r"{tmp_path}/c.npz", realtime=False)
run_stream(StreamConfig(source=replay), Drop(), threading.Event())
print("torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
