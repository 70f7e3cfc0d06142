"""The live window resampler against the offline rule (models.preprocess) on real clips, its gap
bridging and resets, and the cross-stream batcher."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bus.messages import SkeletonFrame
from edge.segments import min_segment_frames
from edge.window import MIN_FRAME_INTERVAL_S, ReadyWindow, StreamWindow, WindowBatcher, WindowReset
from models.preprocess import WindowSpec, clip_frames, cut_windows, normalise_windows, resample

SPEC = WindowSpec()  # 60 frames at 20 fps
MAX_GAP = 0.5


def frame(
    t: float, joints: np.ndarray | None, *, seq: int = 0, vis: float = 1.0, sid: str = "cam1"
) -> SkeletonFrame:
    visibility = None if joints is None else np.full(20, vis, np.float32)
    return SkeletonFrame(sid, seq, t, joints, visibility, sent_at=1000.0 + t)


def feed(win: StreamWindow, frames: list[SkeletonFrame]) -> list[ReadyWindow]:
    out: list[ReadyWindow] = []
    for f in frames:
        out += win.push(f)
    return out


def clip_frames_of(joints: np.ndarray, times: np.ndarray) -> list[SkeletonFrame]:
    return [frame(float(t), j, seq=i) for i, (t, j) in enumerate(zip(times, joints, strict=True))]


def window(
    stride: int = 1,
    resets: list[WindowReset] | None = None,
    min_segment_s: float | None = None,
    growing: bool = False,
) -> StreamWindow:
    return StreamWindow(
        SPEC,
        stride=stride,
        max_gap_s=MAX_GAP,
        min_visibility=0.5,
        min_frames=None if min_segment_s is None else min_segment_frames(SPEC, min_segment_s),
        on_reset=None if resets is None else resets.append,
        growing=growing,
    )


@pytest.fixture(scope="module")
def clip(kinder_gator):  # a real clip with irregular timestamps (24-46 ms apart), long enough for 2+ windows
    c = next(c for c in kinder_gator.clips if len(c.times) > 150 and np.ptp(np.diff(c.times)) > 0.01)
    return c.joints, c.times


def test_windows_equal_offline_resample_of_a_real_clip(clip) -> None:
    joints, times = clip
    expected = resample(joints, times, SPEC.fps)  # (N, J, 3)
    ready = feed(window(stride=1), clip_frames_of(joints, times))
    assert len(ready) == len(expected) - SPEC.frames + 1
    for i, w in enumerate(ready):
        np.testing.assert_allclose(w.frames, expected[i : i + SPEC.frames], atol=1e-5)
        assert w.t_start == pytest.approx(times[0] + i / SPEC.fps)
        assert w.t_end == pytest.approx(times[0] + (i + SPEC.frames - 1) / SPEC.fps)
        assert w.frames.shape == (SPEC.frames, 20, 3) and w.frames.dtype == np.float32


@pytest.mark.parametrize("hole_s", [None, 14.0], ids=["steady", "long_bridged_hole"])
def test_long_segment_windows_equal_offline_resample(hole_s: float | None) -> None:
    """Minutes of one segment (the window's frame buffer drops old frames many times over), and a
    hole bridged at once into more resampled frames than the buffer holds (it grows)."""
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.02, 0.045, 3000))
    if hole_s is not None:
        times[1500:] += hole_s
    joints = rng.normal(size=(len(times), 20, 3)).astype(np.float32)
    win = StreamWindow(
        SPEC, stride=7, max_gap_s=MAX_GAP if hole_s is None else hole_s + 1, min_visibility=0.5
    )
    ready = feed(win, clip_frames_of(joints, times))
    expected = resample(joints, times, SPEC.fps)
    starts = range(0, len(expected) - SPEC.frames + 1, 7)
    assert len(ready) == len(starts)
    for w, i in zip(ready, starts, strict=True):
        np.testing.assert_array_equal(w.frames, expected[i : i + SPEC.frames])


def test_short_nan_joint_gaps_are_filled_like_the_offline_rule(clip) -> None:
    joints, times = clip
    holed = joints.copy()
    holed[20:27, 7] = np.nan  # HandLeft missing for ~0.25 s
    holed[24:30, 15] = np.nan  # FootLeft, overlapping
    holed[60, :3] = np.nan
    expected = clip_frames(holed, times, SPEC)
    win = window(stride=1)
    ready = feed(win, clip_frames_of(holed, times))
    assert not win.resets
    assert len(ready) == len(expected) - SPEC.frames + 1
    for i, w in enumerate(ready):
        np.testing.assert_allclose(w.frames, expected[i : i + SPEC.frames], atol=1e-5)


def test_missing_no_person_and_low_visibility_frames_are_bridged(clip) -> None:
    joints, times = clip
    frames = clip_frames_of(joints, times)
    keep = np.ones(len(times), bool)
    keep[30:36] = False  # dropped on the way (a seq gap)
    keep[70:75] = False
    keep[100:104] = False
    bridged = [f for f, k in zip(frames, keep, strict=True) if k]
    bridged.insert(60, frame(float(times[70]), None))  # nobody in view ...
    bridged.insert(61, frame(float(times[71]), joints[71], vis=0.1))  # ... then barely visible
    win = window(stride=1)
    ready = feed(win, sorted(bridged, key=lambda f: f.timestamp))
    expected = resample(joints[keep], times[keep], SPEC.fps)
    assert not win.resets
    assert win.skipped == {"no_person": 1, "low_visibility": 1}
    assert len(ready) == len(expected) - SPEC.frames + 1
    np.testing.assert_allclose(ready[-1].frames, expected[-SPEC.frames :], atol=1e-5)


def steady(t0: float, n: int, dt: float = 1 / 30) -> list[SkeletonFrame]:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(20, 3)).astype(np.float32)
    return [frame(t0 + i * dt, base + 0.01 * i) for i in range(n)]


def _person_leaves(t: float) -> list[SkeletonFrame]:
    return [frame(t + i / 30, None) for i in range(20)]


def _low_visibility(t: float) -> list[SkeletonFrame]:
    return [frame(t + i / 30, np.zeros((20, 3), np.float32), vis=0.2) for i in range(20)]


def _nan_joint(t: float) -> list[SkeletonFrame]:
    joints = np.zeros((20, 3), np.float32)
    joints[3] = np.nan
    return [frame(t + i / 30, joints) for i in range(20)]


def _nothing_arrives(t: float) -> list[SkeletonFrame]:
    return [frame(t + 1.0, np.zeros((20, 3), np.float32))]


def _clock_jumps_back(t: float) -> list[SkeletonFrame]:
    return [frame(t - 5.0, np.zeros((20, 3), np.float32))]


@pytest.mark.parametrize(
    "interruption,reason",
    [
        (_person_leaves, "person_left"),
        (_low_visibility, "low_visibility"),
        (_nan_joint, "nan_joints"),
        (_nothing_arrives, "gap"),
        (_clock_jumps_back, "time_backwards"),
    ],
)
def test_long_interruption_resets_with_its_reason(interruption, reason: str) -> None:
    resets: list[WindowReset] = []
    win = window(stride=5, resets=resets)
    before = feed(win, steady(0.0, 100))
    assert before and {w.segment for w in before} == {1}
    tail = interruption(99 / 30 + 1 / 30)
    feed(win, tail)
    assert win.resets == {reason: 1}
    assert [(r.stream_id, r.segment, r.reason) for r in resets] == [("cam1", 1, reason)]
    # The next segment starts at its first fully valid frame and must fill a whole window again.
    usable_tail = reason in ("gap", "time_backwards")
    t = tail[-1].timestamp + 1 / 30
    after = feed(win, steady(t, 150))
    assert win.resets == {reason: 1} and after and {w.segment for w in after} == {2}
    assert after[0].t_start == pytest.approx(tail[0].timestamp if usable_tail else t)


@pytest.mark.parametrize(
    "stalled_at,back_after_s,reported",
    [(100, 0.0, []), (45, 0.0, []), (100, 1.0, [(1, "stale")]), (100, None, [(1, "stale")])],
    ids=["goes-on", "short-goes-on", "back-after-a-gap", "let-go"],
)
def test_a_stalled_segment_goes_on_with_a_frame_it_would_have_bridged(
    stalled_at: int, back_after_s: float | None, reported: list[tuple[int, str]]
) -> None:
    # A stream silent for a while (wall clock) is stalled: its segment ends (short windows out now) but
    # is reported only once a frame does not go on where it stopped (or let_go gives up on it). One that
    # goes on (a recording's restarted frontend) continues the segment as if it had come in time.
    frames = steady(0.0, 200)
    resets: list[WindowReset] = []
    win = window(stride=5, resets=resets, min_segment_s=1.0)
    early = feed(win, frames[:stalled_at]) + win.stall()
    assert win.stalled and win.resets == {"stale": 1} and resets == []
    if back_after_s is None:
        win.let_go()
    shift = back_after_s or 0.0
    late = feed(win, [replace(f, timestamp=f.timestamp + shift) for f in frames[stalled_at:]])
    assert [(r.segment, r.reason) for r in resets] == reported and not win.stalled
    whole = feed(window(stride=5, min_segment_s=1.0), frames)
    if reported:  # a segment of its own from the next frame on
        assert {w.segment for w in late} == {2} and late[0].t_start == pytest.approx(
            frames[stalled_at].timestamp + shift
        )
        return
    full = [w for w in early + late if w.segment_frames is None]
    assert [(w.segment, w.t_end) for w in full] == [(1, w.t_end) for w in whole]
    for w, u in zip(full, whole, strict=True):
        np.testing.assert_array_equal(w.frames, u.frames)
    # the short windows a stall let out (1.5 s of skeleton: 30 frames) are not emitted again
    assert [w.segment_frames for w in early + late if w.segment_frames] == (
        [20, 25, 30] if stalled_at == 45 else []
    )
    assert win.finish() == [] and win.segments == {"full": 1}


@pytest.mark.parametrize("stalled", [False, True], ids=["gap", "stalled"])
@pytest.mark.parametrize("seen_after_s", [0.0, 0.3, None], ids=["there", "found-late", "gone"])
def test_a_hole_in_the_stream_is_reported_and_said_by_the_next_segments_windows(
    stalled: bool, seen_after_s: float | None
) -> None:
    # Nothing for 3 s (a camera's outage): the frame after the hole ends the segment and says how long
    # it was, and the next segment's windows say they come after a hole (the episodes wait across it).
    # A person missing from the frames after it is awaited for max_gap_s, then gone after all.
    resets: list[WindowReset] = []
    win = window(stride=5, resets=resets)
    feed(win, steady(0.0, 100))  # up to 3.3 s
    if stalled:
        win.stall()
    back = 3.3 + 3.0
    n_missing = round((1.0 if seen_after_s is None else seen_after_s) * 30)
    feed(win, [frame(back + i / 30, None) for i in range(n_missing)])
    if seen_after_s is None:  # gone: reported again, as a segment ended by their absence
        assert [(r.segment, r.hole_s) for r in resets] == [(1, pytest.approx(3.0)), (1, 0.0)]
        assert resets[1].reason == "person_left" and not win.awaiting_return
        return
    assert win.awaiting_return == bool(n_missing)
    after = feed(win, steady(back + seen_after_s, 100))
    assert [(r.segment, r.hole_s) for r in resets] == [(1, pytest.approx(3.0))]
    assert after and all(w.after_hole and w.segment == 2 for w in after) and not win.awaiting_return
    # a segment ended otherwise says nothing of a hole, nor do the windows after it
    feed(win, _person_leaves(after[-1].t_end + 0.1) + steady(after[-1].t_end + 1.5, 100))
    assert resets[-1].hole_s == 0.0 and not win.awaiting_return
    assert not any(w.after_hole for w in feed(win, steady(after[-1].t_end + 5.0, 100)))


def test_stride_spaces_windows_and_first_needs_a_full_window() -> None:
    win = window(stride=5)
    ready = feed(win, steady(10.0, 300))  # 10 s at 30 fps -> 200 resampled frames
    ends = np.array([w.t_end for w in ready])
    assert ready[0].t_end == pytest.approx(10.0 + (SPEC.frames - 1) / SPEC.fps)
    np.testing.assert_allclose(np.diff(ends), 5 / SPEC.fps)
    assert len(ready) == (200 - SPEC.frames) // 5 + 1


def test_window_records_the_sent_at_of_the_frame_that_completed_it() -> None:
    frames = steady(0.0, 120)
    win = window(stride=1)
    for f in frames:
        for w in win.push(f):
            assert w.last_sent_at == f.sent_at


def test_duplicate_timestamps_are_skipped_without_reset() -> None:
    frames = steady(0.0, 100)
    win = window(stride=1)
    a = feed(win, frames[:50])
    b = win.push(frames[49])
    assert b == [] and win.skipped == {"duplicate_time": 1} and not win.resets
    assert len(a) + len(feed(win, frames[50:])) == len(feed(window(stride=1), frames))


def test_frames_of_another_stream_are_refused() -> None:
    win = window()
    win.push(steady(0.0, 1)[0])
    with pytest.raises(ValueError, match="cam2"):
        win.push(frame(1.0, np.zeros((20, 3), np.float32), sid="cam2"))


# --- segments shorter than a window ------------------------------------------------------------


def test_short_segment_windows_equal_cut_windows_of_the_same_frames(clip) -> None:
    """A 1.7 s segment gives, when it ends, windows of its first 20, 25, 30 and all its resampled
    frames, each enrolment's window of those frames; the last one is enrolment's window of the whole
    segment as a clip."""
    joints, times = clip
    keep = times - times[0] <= 1.7
    win = window(stride=5, min_segment_s=1.0)
    assert feed(win, clip_frames_of(joints[keep], times[keep])) == []
    ready = win.finish()
    frames = resample(joints[keep], times[keep], SPEC.fps)  # (n, J, 3), n = 35
    n = len(frames)
    assert [w.segment_frames for w in ready] == [20, 25, 30, n]
    for w in ready:
        k = w.segment_frames
        assert k is not None
        np.testing.assert_allclose(w.frames, cut_windows(frames[:k], SPEC)[0], atol=1e-5)
        assert w.t_start == pytest.approx(times[0])
        assert w.t_end == pytest.approx(times[0] + (k - 1) / SPEC.fps)
    whole = cut_windows(clip_frames(joints[keep], times[keep], SPEC), SPEC)
    np.testing.assert_allclose(ready[-1].frames, whole[0], atol=1e-5)
    assert win.segments == {"short": 1} and win.longest_s == pytest.approx(n / SPEC.fps)


def test_a_growing_segment_also_gives_each_short_window_at_once_and_still_holds_them_for_its_end(
    clip,
) -> None:
    """With ``growing`` (vigour on), the windows a segment holds are also emitted as it grows, marked
    growing and in time order; a segment that ends short still brings all of them, unmarked, at its
    end; one that fills a window goes on with its sliding windows."""
    joints, times = clip
    keep = times - times[0] <= 1.7
    held = window(stride=5, min_segment_s=1.0)
    feed(held, clip_frames_of(joints[keep], times[keep]))
    win = window(stride=5, min_segment_s=1.0, growing=True)
    early = feed(win, clip_frames_of(joints[keep], times[keep]))
    assert [(w.segment_frames, w.growing) for w in early] == [(20, True), (25, True), (30, True)]
    assert [w.t_end for w in early] == sorted(w.t_end for w in early)
    at_end = win.finish()
    assert [(w.segment_frames, w.growing) for w in at_end] == [
        (w.segment_frames, False) for w in held.finish()
    ]
    for w, h in zip(early, at_end, strict=False):
        np.testing.assert_array_equal(w.frames, h.frames)
    long = feed(window(stride=5, min_segment_s=1.0, growing=True), steady(0.0, 120))
    assert [w.growing for w in long] == [True] * 8 + [False] * 5  # 20..55 frames, then 60..80


def test_a_segment_that_fills_a_window_gives_only_sliding_windows() -> None:
    win = window(stride=5, min_segment_s=1.0)
    ready = feed(win, steady(0.0, 120))  # 4 s at 30 fps -> 80 resampled frames
    assert all(w.segment_frames is None for w in ready)
    assert [round(w.t_end * SPEC.fps) + 1 for w in ready] == [60, 65, 70, 75, 80]
    assert win.finish() == []
    assert win.segments == {"full": 1}


def test_segment_under_the_minimum_is_counted_as_too_short_not_lost() -> None:
    resets: list[WindowReset] = []
    win = window(stride=5, resets=resets, min_segment_s=1.0)
    ready = feed(win, steady(0.0, 24))  # 0.77 s of skeleton: 16 resampled frames
    ready += feed(win, [frame(2.0, np.zeros((20, 3), np.float32))])  # back after a gap
    assert ready == [] and win.segments == {"too_short": 1}
    assert [r.reason for r in resets] == ["gap"]
    assert win.longest_s == pytest.approx(16 / SPEC.fps)


def test_the_frame_that_ends_a_short_segment_brings_its_windows() -> None:
    win = window(stride=5, min_segment_s=1.0)
    assert feed(win, steady(0.0, 40)) == []  # 1.3 s: 27 resampled frames
    after_gap = win.push(frame(3.0, np.zeros((20, 3), np.float32), seq=99))
    assert [(w.segment, w.segment_frames, w.last_sent_at) for w in after_gap] == [
        (1, 20, 1003.0),
        (1, 25, 1003.0),
        (1, 27, 1003.0),
    ]


def test_without_a_minimum_only_full_windows_are_emitted() -> None:
    win = window(stride=5)
    assert feed(win, steady(0.0, 80)) == [] and win.finish() == []
    assert win.segments == {"too_short": 1}  # too short for a full window, the only kind here


# --- batcher ---------------------------------------------------------------------------------------


def ready_windows(sid: str, n: int) -> list[ReadyWindow]:
    rng = np.random.default_rng(len(sid) + n)
    return [
        ReadyWindow(sid, 1, float(i), float(i) + 3, rng.normal(size=(60, 20, 3)).astype(np.float32), 0.0)
        for i in range(n)
    ]


def test_batch_is_due_when_full_or_when_its_oldest_window_waited_long_enough() -> None:
    b = WindowBatcher(SPEC, max_batch=4, max_wait_s=0.05, max_pending=100)
    assert not b.due(0.0) and b.take() is None and b.wait_s(0.0) is None
    b.add(ready_windows("fast", 2), now=0.0)
    assert not b.due(0.01) and b.wait_s(0.01) == pytest.approx(0.04)
    assert b.due(0.05)  # the other streams are silent: the fast one is not held back
    b.add(ready_windows("other", 3), now=0.02)
    assert b.due(0.02) and b.wait_s(0.02) == 0.0
    batch = b.take()
    assert batch is not None and [w.stream_id for w in batch.items] == ["fast", "fast", "other", "other"]
    assert len(b) == 1


def test_batch_windows_are_normalised_like_normalise_windows() -> None:
    b = WindowBatcher(SPEC, max_batch=8, max_wait_s=0.0, max_pending=8)
    items = ready_windows("a", 3) + ready_windows("b", 2)
    b.add(items, now=0.0)
    batch = b.take()
    assert batch is not None
    np.testing.assert_array_equal(batch.windows, normalise_windows(np.stack([w.frames for w in items]), SPEC))


def test_overflowing_queue_drops_oldest_windows_and_counts_them() -> None:
    b = WindowBatcher(SPEC, max_batch=2, max_wait_s=1.0, max_pending=3)
    items = ready_windows("a", 5)
    b.add(items, now=0.0)
    assert b.dropped == 2 and len(b) == 3
    batch = b.take()
    assert batch is not None and batch.items == tuple(items[2:4])


def test_frames_a_microsecond_apart_pile_up_nowhere_and_the_stream_goes_on() -> None:
    # Frames wait in the window for the next grid point, or for a missing joint's fill: a stream
    # stamping its frames a microsecond apart piled them up without end (memory), and with a joint
    # missing every frame re-read all of them (a worker that crawled for every stream).
    rng = np.random.default_rng(5)
    pose = rng.normal(size=(20, 3)).astype(np.float32)
    holed = pose.copy()
    holed[4] = np.nan
    win = window(stride=5)
    held = []
    for k in range(3000):
        win.push(frame(k * 1e-6, pose if k == 0 else holed, seq=k))
        held.append(len(win._raw_t) + len(win._pending_t))
    assert max(held) <= MAX_GAP / MIN_FRAME_INTERVAL_S
    out = feed(win, [frame(0.01 + k / 30, pose + k / 100, seq=3000 + k) for k in range(120)])
    assert len(out) >= 5 and {w.segment for w in out} == {1}
