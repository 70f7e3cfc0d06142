"""Record a stream's canonical skeletons in this process, without the bus (enrolment from videos)."""

from __future__ import annotations

import threading
import time

import numpy as np

from bus.messages import SkeletonFrame
from config.frontend import StreamConfig
from models.skeleton import NUM_JOINTS
from pose_frontend.base import Counters, SourceError
from pose_frontend.estimator import EstimatorError
from pose_frontend.process import FrameErrorLimit, run_stream
from pose_frontend.sources import open_source

# How often a live recording's wall-clock limit is looked at.
_WATCH_S = 0.1


class RecordError(RuntimeError):
    """A stream that could not be recorded: its source failed (a truncated video, say) or pose
    estimation could not run; the message says which and why."""


class _Collector:
    """A publisher that keeps the frames and asks the loop to stop after ``max_seconds``."""

    def __init__(self, stop: threading.Event, max_seconds: float | None) -> None:
        self.frames: list[SkeletonFrame] = []
        self._stop = stop
        self._max_seconds = max_seconds
        # A live recording's wall-clock end (monotonic): max_seconds after the start, then after the
        # first frame (:func:`record_stream` says why).
        self.deadline = time.monotonic() + max_seconds if max_seconds is not None else None

    def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
        if not self.frames and self._max_seconds is not None:
            self.deadline = time.monotonic() + self._max_seconds
        self.frames.append(frame)
        if self._max_seconds is not None and frame.timestamp - self.frames[0].timestamp >= self._max_seconds:
            self._stop.set()
        return True


class Recording:
    """A stream's recorded frames, cut into one clip per person."""

    def __init__(self, frames: list[SkeletonFrame], counters: Counters) -> None:
        self.frames = frames
        self.counters = counters
        self.times = np.array([f.timestamp for f in frames], dtype=np.float64)
        # in the order they came into view: a tracker's ids, or 0 for a one-person stream
        self.people: list[int] = list(dict.fromkeys(pid for f in frames for pid in f.person_ids))

    def of(self, person: int) -> tuple[np.ndarray, np.ndarray]:
        """``person``'s joints ``(T, 20, 3)`` float32, NaN rows where they are not in view, and
        visibility ``(T, 20)`` float32, 0 there."""
        joints = np.full((len(self.frames), NUM_JOINTS, 3), np.nan, dtype=np.float32)
        visibility = np.zeros((len(self.frames), NUM_JOINTS), dtype=np.float32)
        for i, frame in enumerate(self.frames):
            f = frame.of(person)
            if f.joints is not None and f.visibility is not None:
                joints[i], visibility[i] = f.joints, f.visibility
        return joints, visibility


def record_stream(
    config: StreamConfig, *, max_seconds: float | None = None, stop: threading.Event | None = None
) -> Recording:
    """Run ``config``'s source (file sources as fast as possible) through pose estimation; every
    person of every frame is kept (:meth:`Recording.of` cuts out one).

    Ends when the source ends, after ``max_seconds`` of source time, or when ``stop`` is set. A live
    source (camera, URL) is also held to ``max_seconds`` of wall-clock time: counted from the start
    until its first frame, then from that frame. Its timestamps are the wall clock, so this changes
    nothing while it delivers; but one that never opens (or stops delivering) produces no source
    time, and it retries for ever (``reconnect.max_attempts`` 0, as the daemon must): the limit
    then ends the recording, which :class:`RecordError` refuses when it holds no frame.
    Raises :class:`RecordError` when the source or the estimator fails (the frames so far are dropped).
    """
    source_config = config.source
    if hasattr(source_config, "realtime"):  # file-like sources: no need to wait for a camera's pace
        config = config.model_copy(update={"source": source_config.model_copy(update={"realtime": False})})
    stop = stop if stop is not None else threading.Event()
    collector = _Collector(stop, max_seconds)
    try:
        source = open_source(config.source, stop=stop, pose_fps=config.pose_fps)
    except SourceError as e:
        raise RecordError(str(e)) from e
    expired, ended = threading.Event(), threading.Event()
    if max_seconds is not None and not source.lossless:
        threading.Thread(target=_expire, args=(collector, stop, ended, expired), daemon=True).start()
    try:
        counters = run_stream(config, collector, stop, source=source)
    except (SourceError, EstimatorError, FrameErrorLimit) as e:
        raise RecordError(str(e)) from e
    finally:
        ended.set()
    if expired.is_set() and not collector.frames:
        failed = counters.snapshot()["failed_opens"]
        raise RecordError(
            f"no frame from {getattr(source, 'name', config.id)} within {max_seconds:g} s; "
            f"{failed} failed attempt{'' if failed == 1 else 's'} to open it"
        )
    return Recording(collector.frames, counters)


def _expire(
    collector: _Collector, stop: threading.Event, ended: threading.Event, expired: threading.Event
) -> None:
    """Set ``expired`` and ``stop`` at ``collector``'s deadline, unless the recording ``ended`` first."""
    while not ended.wait(_WATCH_S):
        if collector.deadline is not None and time.monotonic() >= collector.deadline:
            expired.set()
            stop.set()
            return


def record_clip(
    config: StreamConfig, *, max_seconds: float | None = None, stop: threading.Event | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Counters]:
    """:func:`record_stream`'s first person: times ``(T,)`` float64, joints ``(T, 20, 3)`` float32
    (NaN rows where nobody was detected), visibility ``(T, 20)`` float32 (0 there) and the stream's
    counters. Of several people (``estimator.people``, a replay of several), the clip is the first
    one seen (the lowest id then), NaN rows where they are not: the frames' first person changes as
    people come and go, and one clip of several people's skeletons spliced together would be
    enrolled as one person's motion."""
    recording = record_stream(config, max_seconds=max_seconds, stop=stop)
    joints, visibility = recording.of(recording.people[0] if recording.people else 0)
    return recording.times, joints, visibility, recording.counters
