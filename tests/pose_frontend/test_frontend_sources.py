"""File sources: video, image folder, skeleton replay, synthetic; timestamps, looping, pacing, errors."""

from __future__ import annotations

import shutil
import threading
import time
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from clips import Clip
from clips.files import save_clipset_file
from config.frontend import SkeletonSourceConfig, SyntheticSourceConfig, VideoSourceConfig
from config.worker import MAX_BRIDGED_GAP_S
from models.skeleton import from_msr_action3d
from pose_frontend.base import CorruptVideoError, SourceError, SourceNotFoundError
from pose_frontend.sources import (
    SEAM_S,
    ImageFolderSource,
    SkeletonReplaySource,
    VideoFileSource,
    chain_passes,
    open_source,
)

# --- video ---------------------------------------------------------------------------------------


def test_video_timestamps_come_from_the_container(squat_video: Path) -> None:
    frames = list(VideoFileSource(squat_video))
    assert len(frames) == 65
    times = np.array([t for t, _ in frames])
    np.testing.assert_allclose(times, np.arange(65) * 0.2, atol=1e-6)  # a 5 fps file
    rgb = frames[0][1]
    assert rgb.shape == (1280, 720, 3) and rgb.dtype == np.uint8


def test_video_frames_are_rgb(squat_video: Path) -> None:
    _, rgb = next(iter(VideoFileSource(squat_video)))
    capture = cv2.VideoCapture(str(squat_video))
    _, bgr = capture.read()
    capture.release()
    np.testing.assert_array_equal(rgb, bgr[..., ::-1])


def test_looping_video_keeps_timestamps_rising(squat_video: Path) -> None:
    source = VideoFileSource(squat_video, loop=True)
    times = [t for t, _ in islice(source, 140)]
    assert len(times) == 140
    assert np.all(np.diff(times) > 0)
    # The second pass starts a seam and one frame interval after the first ended: a hole the worker
    # bridges under no config, so none of its windows spans the jump to the first frame.
    assert times[65] == pytest.approx(times[64] + SEAM_S + 0.2)
    assert times[130] == pytest.approx(times[129] + SEAM_S + 0.2) and SEAM_S == MAX_BRIDGED_GAP_S


def test_missing_video_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError):  # also catchable as the builtin type
        open_source(VideoSourceConfig(path=str(tmp_path / "nope.mp4")))


def test_random_bytes_are_a_corrupt_video(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    started = time.monotonic()
    with pytest.raises(CorruptVideoError, match="noise.mp4"):
        VideoFileSource(path)
    assert time.monotonic() - started < 30  # an error, not a hang (5 s was tight on a loaded host)


def test_an_empty_video_file_is_said_to_be_empty(tmp_path: Path) -> None:
    # It was "not a readable video file or codec", FFmpeg's "moov atom not found" above it.
    path = tmp_path / "copying.mp4"
    path.touch()
    with pytest.raises(CorruptVideoError, match=r"video file is empty \(0 bytes\): .*copying.mp4"):
        open_source(VideoSourceConfig(path=str(path)))


def test_a_looped_video_removed_while_playing_is_said_to_be_missing(
    tmp_path: Path, squat_video: Path
) -> None:
    # Its next pass said "cannot open video X: not a readable video file or codec".
    path = tmp_path / "door.mp4"
    shutil.copy(squat_video, path)
    source = VideoFileSource(path, loop=True)
    frames = iter(source)
    next(frames)
    path.unlink()
    with pytest.raises(SourceNotFoundError, match=f"video file not found: {path}"):
        for _ in frames:
            pass


def test_truncated_video_is_a_corrupt_video(tmp_path: Path, squat_video: Path) -> None:
    data = squat_video.read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: now missing
    with pytest.raises(CorruptVideoError):
        VideoFileSource(path)


def _garbled(video: Path, path: Path) -> Path:
    """``video`` with 200 kB of noise a third of the way in: it opens, then fails at the damage."""
    data = bytearray(video.read_bytes())
    third = len(data) // 3
    data[third : third + 200_000] = (
        np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    )
    path.write_bytes(bytes(data))
    return path


def test_video_damaged_in_the_middle_delivers_what_it_can_then_fails(
    tmp_path: Path, squat_video: Path
) -> None:
    path = _garbled(squat_video, tmp_path / "garbled.mp4")
    delivered = []
    with pytest.raises(CorruptVideoError, match="of its 65 frames"):
        for t, _ in VideoFileSource(path):
            delivered.append(t)
    assert 0 < len(delivered) < 65
    assert np.all(np.diff(delivered) > 0)


def test_a_damaged_video_restarted_after_its_readable_part_delivers_nothing_again(
    tmp_path: Path, squat_video: Path
) -> None:
    # The frontend fails at the damage and is restarted: its readable part must not be scored twice.
    path = _garbled(squat_video, tmp_path / "damaged.mp4")
    first: list[float] = []
    with pytest.raises(CorruptVideoError):
        first.extend(t for t, _ in VideoFileSource(path))
    again = VideoFileSource(path)
    assert again.resume_after(first[len(first) // 2])
    rest: list[float] = []
    with pytest.raises(CorruptVideoError):
        rest.extend(t for t, _ in again)
    assert rest == first[len(first) // 2 + 1 :] and len(first) > 2
    last = VideoFileSource(path)
    last.resume_after(first[-1])
    with pytest.raises(CorruptVideoError):
        assert not list(last)
    assert last.stats["skipped"] == len(first) and last.stats["frames"] == 0


def test_realtime_video_is_paced_like_a_camera(squat_video: Path) -> None:
    source = VideoFileSource(squat_video, realtime=True)
    started = time.monotonic()
    times = [t for t, _ in islice(source, 6)]
    elapsed = time.monotonic() - started
    assert times[-1] == pytest.approx(1.0)
    assert elapsed >= 0.9  # 1 s of video takes 1 s at least (no upper limit: a loaded host adds)


def test_a_paced_loop_does_not_wait_out_its_seams(tmp_path: Path) -> None:
    # The seam is a hole for the worker only: a demo's looped clip goes on at once, as a camera would.
    np.save(tmp_path / "clip.npy", np.zeros((3, 20, 3), np.float32))
    source = SkeletonReplaySource(tmp_path / "clip.npy", fps=10, loop=True, realtime=True)
    started = time.monotonic()
    times = [t for t, _ in islice(source, 7)]  # three passes of 0.3 s
    elapsed = time.monotonic() - started
    np.testing.assert_allclose(times, np.arange(7) * 0.1 + SEAM_S * (np.arange(7) // 3))
    assert 0.35 <= elapsed < SEAM_S / 2  # frames still paced within a pass


def test_stop_event_ends_a_paced_source_at_once(squat_video: Path) -> None:
    stop = threading.Event()
    source = VideoFileSource(squat_video, realtime=True, loop=True, stop=stop)
    # Stopped at its third frame, not by a 0.5 s timer whose frame count (and a 1.5 s limit) a
    # loaded host could miss: the looped video ends only by the stop.
    frames = 0
    for frames, _ in enumerate(source, 1):
        if frames == 3:
            stop.set()
        if frames > 3:  # the stop ignored: it would go on for ever
            break
    assert frames == 3


# --- images --------------------------------------------------------------------------------------


def test_image_folder_plays_sorted_files_at_the_configured_fps(tmp_path: Path, mp_testdata: Path) -> None:
    for name in ("b.jpg", "a.jpg", "c.png"):
        shutil.copy(mp_testdata / ("pose.jpg" if name != "b.jpg" else "three_people.jpg"), tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    source = ImageFolderSource(tmp_path, fps=4)
    assert [p.name for p in source.files] == ["a.jpg", "b.jpg", "c.png"]
    frames = list(source)
    assert [t for t, _ in frames] == [0.0, 0.25, 0.5]
    assert frames[1][1].shape == (861, 1049, 3)  # three_people.jpg
    looped = [t for t, _ in islice(ImageFolderSource(tmp_path, fps=4, loop=True), 7)]
    np.testing.assert_allclose(looped, np.arange(7) * 0.25 + SEAM_S * np.array([0, 0, 0, 1, 1, 1, 2]))
    still = [t for t, _ in islice(ImageFolderSource(tmp_path / "b.jpg", fps=4, loop=True), 5)]
    np.testing.assert_allclose(still, np.arange(5) * 0.25)  # one image looped: a still, no seams


def test_unreadable_images_are_skipped_and_counted(tmp_path: Path, mp_testdata: Path) -> None:
    shutil.copy(mp_testdata / "pose.jpg", tmp_path / "1.jpg")
    (tmp_path / "2.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    source = ImageFolderSource(tmp_path, fps=10)
    assert [t for t, _ in source] == [0.0]
    assert source.stats["skipped"] == 1
    (tmp_path / "1.jpg").unlink()
    with pytest.raises(SourceError, match="could be read"):
        list(ImageFolderSource(tmp_path, fps=10))


def test_empty_or_missing_image_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no image files"):
        ImageFolderSource(tmp_path)
    with pytest.raises(SourceNotFoundError, match="not found"):
        ImageFolderSource(tmp_path / "missing")


# --- skeleton replay -------------------------------------------------------------------------------


def _clip(name: str, n: int, start: float, fps: float, value: float) -> Clip:
    joints = np.full((n, 20, 3), value, dtype=np.float32)
    return Clip(joints=joints, times=start + np.arange(n) / fps, label="walk", subject="s1", name=name)


def test_clipset_replay_plays_clips_in_order_with_rising_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "clips.npz"
    save_clipset_file(path, [_clip("a", 4, 0.0, 20, 1.0), _clip("b", 3, 0.0, 20, 2.0)])
    frames = list(SkeletonReplaySource(path))
    times = [t for t, _ in frames]
    # clip b follows a seam and one frame later: another stretch of time
    np.testing.assert_allclose(times, np.arange(7) * 0.05 + SEAM_S * np.array([0, 0, 0, 0, 1, 1, 1]))
    assert [float(j[0, 0]) for _, j in frames] == [1, 1, 1, 1, 2, 2, 2]
    assert all(j.shape == (20, 3) for _, j in frames)
    only_b = list(SkeletonReplaySource(path, clips=["b", "b"]))
    assert len(only_b) == 6 and np.all(np.diff([t for t, _ in only_b]) > 0)
    with pytest.raises(SourceError, match="no clips named"):
        SkeletonReplaySource(path, clips=["zzz"])


def test_skeleton_replay_loops(tmp_path: Path) -> None:
    path = tmp_path / "one.npz"
    save_clipset_file(path, [_clip("a", 5, 10.0, 10, 0.0)])
    source = SkeletonReplaySource(path, loop=True)
    times = [t for t, _ in islice(source, 12)]
    np.testing.assert_allclose(times, 10.0 + np.arange(12) * 0.1 + SEAM_S * (np.arange(12) // 5))


def test_a_replay_of_more_people_than_a_frame_carries_is_refused_when_opened(tmp_path: Path) -> None:
    # It opened, then every frame failed on the bus: a stream that published nothing, with one
    # warning, and `haad config validate` called the file valid.
    np.save(tmp_path / "crowd.npy", np.zeros((5, 33, 20, 3), np.float32))
    with pytest.raises(SourceError, match="replays 33 people; a frame carries at most 32"):
        SkeletonReplaySource(tmp_path / "crowd.npy")


def test_npy_replay_converts_its_layout(tmp_path: Path) -> None:
    raw = np.random.default_rng(0).normal(size=(8, 20, 3)).astype(np.float32)
    np.save(tmp_path / "msr.npy", raw)
    config = SkeletonSourceConfig(
        path=str(tmp_path / "msr.npy"), layout="msr_action3d", fps=15, realtime=False
    )
    source = open_source(config)
    assert source.produces == "skeleton"
    frames = list(source)
    np.testing.assert_allclose([t for t, _ in frames], np.arange(8) / 15)
    np.testing.assert_array_equal(np.stack([j for _, j in frames]), from_msr_action3d(raw))
    (tmp_path / "msr.npy").rename(tmp_path / "MSR.NPY")  # as some cameras and Windows tools name files
    assert len(list(SkeletonReplaySource(tmp_path / "MSR.NPY", layout="msr_action3d"))) == 8


def test_bad_skeleton_files_are_clear_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "flat.npy", np.zeros((8, 3)))
    (tmp_path / "junk.npz").write_bytes(b"PK not a zip")
    (tmp_path / "clip.csv").write_text("1,2,3")
    with pytest.raises(SourceError, match="flat.npy"):
        SkeletonReplaySource(tmp_path / "flat.npy")
    with pytest.raises(SourceError, match="junk.npz"):
        SkeletonReplaySource(tmp_path / "junk.npz")
    with pytest.raises(SourceError, match=".npz or a .npy"):
        SkeletonReplaySource(tmp_path / "clip.csv")
    with pytest.raises(SourceNotFoundError):
        SkeletonReplaySource(tmp_path / "missing.npz")


# --- synthetic -------------------------------------------------------------------------------------


def test_synthetic_source_needs_no_files_and_loops_with_new_seeds() -> None:
    config = SyntheticSourceConfig(
        script=[{"motion": "wave_right_hand", "seconds": 1.0}], realtime=False, loop=True
    )
    source = open_source(config)
    assert source.produces == "skeleton"
    frames = list(islice(source, 75))
    times = np.array([t for t, _ in frames])
    np.testing.assert_allclose(times, np.arange(75) / 30 + SEAM_S * (np.arange(75) // 30))
    first, second = np.stack([j for _, j in frames[:30]]), np.stack([j for _, j in frames[30:60]])
    assert np.abs(first - second).mean() > 1e-3  # the next pass is another take, not a copy
    assert source.stats["frames"] == 75


def test_chain_passes_shifts_each_pass_after_the_previous_one() -> None:
    frame = np.zeros(1)
    passes = [[(5.0, frame), (5.5, frame)], [(0.0, frame)], [(3.0, frame), (3.25, frame)]]
    assert [t for t, _ in chain_passes(passes, step_s=0.5)] == [5.0, 5.5, 6.0, 6.5, 6.75]
    assert [t for t, _ in chain_passes(passes, step_s=0.5, seam_s=10.0)] == [5.0, 5.5, 16.0, 26.5, 26.75]
