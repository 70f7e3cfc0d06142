"""Per-stream sliding windows: bus frames in, fixed-length encoder windows out, and their batching.

A :class:`StreamWindow` turns one stream's :class:`~bus.messages.SkeletonFrame` s into raw
windows ``(spec.frames, 20, 3)`` resampled to ``spec.fps``, online, with the semantics the offline
rule in :mod:`models.preprocess` gives a recorded clip:

* the resampling grid starts at the first frame of a segment and steps ``1 / spec.fps``; each grid
  point is the linear interpolation of the two valid frames around it
  (:func:`models.preprocess.interpolate_at`, the function behind ``resample``);
* NaN joints are filled per joint in time by :func:`models.preprocess.fill_gaps`, so a frame with a
  few missing joints still contributes the joints it has.

What it bridges and what ends a segment (``max_gap_s`` is the longest bridged hole, seconds of
source time between two usable frames):

* missing frames, seq gaps, frames without a person, frames whose mean joint visibility is below
  ``min_visibility``: skipped; the grid interpolates across them;
* a joint missing for up to ``max_gap_s``: filled; the frames after it wait until it is filled;
* a longer hole resets the window, with the reason in :attr:`StreamWindow.resets`: ``gap`` (no
  usable frames arrived), ``person_left`` / ``low_visibility`` (the frames that arrived had no person /
  too low visibility), ``nan_joints`` (a joint stayed missing), ``time_backwards`` (a timestamp
  smaller than the last one; equal timestamps are skipped as duplicates).

After a reset, the stream starts a new *segment* at its next fully valid frame and windows are emitted
again once ``spec.frames`` resampled frames have accumulated. Windows carry their segment number so
downstream state (alert episodes) can tell them apart; a reset is also reported to ``on_reset``.

:class:`WindowBatcher` collects ready windows from all streams, first come first served, and hands
out one normalised ``(B, F, 20, 3)`` batch per encoder call: a batch is due when it is full or its
oldest window has waited ``max_wait_s``, so a slow or silent stream never holds the others back.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bus.messages import SkeletonFrame
from models.preprocess import WindowSpec, fill_gaps, interpolate_at, normalise_windows
from models.skeleton import NUM_JOINTS

ResetReason = Literal["gap", "person_left", "low_visibility", "nan_joints", "time_backwards"]
_MissingKind = Literal["no_person", "low_visibility", "nan_joints"]
_RESET_FOR_MISSING: dict[_MissingKind, ResetReason] = {
    "no_person": "person_left",
    "low_visibility": "low_visibility",
    "nan_joints": "nan_joints",
}
# Grid points within this fraction of a step past a frame belong to it (as in preprocess.resample).
_GRID_EPS = 1e-6


@dataclass(frozen=True, eq=False)  # eq=False: array field
class ReadyWindow:
    """One window ready for the encoder.

    frames: ``(F, 20, 3)`` float32 raw canonical joints (not normalised).
    t_start / t_end: source times (seconds) of its first and last resampled frame.
    segment: the stream's segment number (it changes at every reset).
    last_sent_at: ``sent_at`` of the frame whose arrival completed the window (latency origin).
    """

    stream_id: str
    segment: int
    t_start: float
    t_end: float
    frames: np.ndarray
    last_sent_at: float


@dataclass(frozen=True)
class WindowReset:
    """A stream's segment ended: ``segment`` is the one that ended, ``t_last`` its last frame's time."""

    stream_id: str
    segment: int
    reason: str
    t_last: float


class StreamWindow:
    """The sliding window of one stream (see the module docstring for the rules).

    ``push`` is the only input; it returns the windows the frame completed, oldest first. A window is
    emitted once ``spec.frames`` resampled frames are buffered and then every ``stride`` frames.
    ``resets`` counts resets by reason and ``skipped`` counts frames that carried nothing usable.
    """

    def __init__(
        self,
        spec: WindowSpec,
        *,
        stride: int,
        max_gap_s: float,
        min_visibility: float,
        on_reset: Callable[[WindowReset], None] | None = None,
    ) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1; got {stride}")
        if max_gap_s < 0:
            raise ValueError(f"max_gap_s must be >= 0; got {max_gap_s}")
        self.spec = spec
        self.stride = stride
        self.max_gap_s = max_gap_s
        self.min_visibility = min_visibility
        self.on_reset = on_reset
        self.stream_id: str | None = None
        self.segment = 0  # number of segments started; the current one while active
        self.resets: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self._active = False
        self._last_t = -math.inf  # newest timestamp seen in this segment (any frame)
        self._t0 = 0.0  # grid origin: the segment's first frame
        # Resolved frames (every joint known, NaNs filled), from the left neighbour of the first grid
        # point not yet resampled to the newest one, the anchor. Resampling waits until a window is
        # due, so a frame costs a few list operations and interpolation runs once per window.
        self._raw_t: list[float] = []
        self._raw_x: list[np.ndarray] = []
        self._pending_t: list[float] = []  # frames after the anchor still waiting for a NaN to be filled
        self._pending_x: list[np.ndarray] = []
        self._known_k = 0  # grid points up to the anchor, i.e. ready to be resampled
        self._ring = np.zeros((spec.frames, NUM_JOINTS, 3), np.float32)
        self._count = 0  # grid points resampled into the ring in this segment

    @property
    def active(self) -> bool:
        return self._active

    def push(self, frame: SkeletonFrame) -> list[ReadyWindow]:
        """Add one frame of this stream; returns the windows it completed (usually none or one)."""
        if self.stream_id is None:
            self.stream_id = frame.stream_id
        elif frame.stream_id != self.stream_id:
            raise ValueError(
                f"frame of stream {frame.stream_id!r} pushed to the window of {self.stream_id!r}"
            )
        t = frame.timestamp
        if self._active:
            if t < self._last_t:
                self.reset("time_backwards")
            elif t == self._last_t:
                self.skipped["duplicate_time"] += 1
                return []
        missing, complete = self._classify(frame)
        if missing is not None:
            self.skipped[missing] += 1
            if self._active:
                self._last_t = t
                if t - self._last_usable_t() > self.max_gap_s:
                    self.reset(_RESET_FOR_MISSING[missing])
            return []
        assert frame.joints is not None  # a frame that is not missing has joints
        if self._active and t - self._last_usable_t() > self.max_gap_s:
            self.reset("gap")
        if not self._active:
            if not complete:
                self.skipped["nan_joints"] += 1  # a segment starts at a fully valid frame
                return []
            self._start(t, frame.joints)
            return self._emit_due(frame.sent_at)
        self._last_t = t
        if complete and not self._pending_t:
            self._add_resolved(t, frame.joints)
        else:
            self._pending_t.append(t)
            self._pending_x.append(frame.joints)
            self._resolve()
        ready = self._emit_due(frame.sent_at)
        if self._pending_t and self._pending_t[-1] - self._raw_t[-1] > self.max_gap_s:
            # The oldest waiting frame misses a joint whose gap can no longer be bridged.
            self.reset("nan_joints")
            if complete:
                self._start(t, frame.joints)
                ready += self._emit_due(frame.sent_at)
        return ready

    def reset(self, reason: str) -> None:
        """End the current segment (no-op when none is active); ``reason`` is counted and reported.

        The worker calls it itself for a stream that went silent (e.g. ``reason="stale"``).
        """
        if not self._active:
            return
        self._active = False
        self._raw_t.clear()
        self._raw_x.clear()
        self._pending_t.clear()
        self._pending_x.clear()
        self.resets[reason] += 1
        if self.on_reset is not None:
            assert self.stream_id is not None
            self.on_reset(WindowReset(self.stream_id, self.segment, reason, self._last_t))

    # --- internals -----------------------------------------------------------------------------

    def _classify(self, frame: SkeletonFrame) -> tuple[_MissingKind | None, bool]:
        """-> (why the frame counts as missing, or None; whether every joint is finite)."""
        joints, visibility = frame.joints, frame.visibility
        if joints is None or visibility is None:
            return "no_person", False
        if math.isfinite(float(joints.sum())):  # one reduction: the common, complete frame
            complete, mean_visibility = True, float(visibility.sum()) / len(visibility)
        else:
            present = np.isfinite(joints).all(axis=1)
            if not present.any():
                return "nan_joints", False
            complete, mean_visibility = False, float(visibility[present].mean())
        if mean_visibility < self.min_visibility:
            return "low_visibility", complete
        return None, complete

    def _last_usable_t(self) -> float:
        return self._pending_t[-1] if self._pending_t else self._raw_t[-1]

    def _start(self, t: float, joints: np.ndarray) -> None:
        self.segment += 1
        self._active = True
        self._last_t = t
        self._t0 = t
        self._raw_t[:], self._raw_x[:] = [t], [joints]
        self._known_k = 1
        self._count = 0

    def _add_resolved(self, t: float, joints: np.ndarray) -> None:
        self._raw_t.append(t)
        self._raw_x.append(joints)
        self._known_k = math.floor((t - self._t0) * self.spec.fps + _GRID_EPS) + 1

    def _resolve(self) -> None:
        """Fill the NaN joints after the anchor that can be filled; resolve the frames that are complete."""
        times = np.array([self._raw_t[-1], *self._pending_t])
        joints, valid = fill_gaps(np.stack([self._raw_x[-1], *self._pending_x]), times, self.max_gap_s)
        n_ok = len(valid) if valid.all() else int(np.argmin(valid))
        for i in range(1, n_ok):
            self._add_resolved(float(times[i]), joints[i])
        del self._pending_t[: n_ok - 1], self._pending_x[: n_ok - 1]

    def _emit_due(self, sent_at: float) -> list[ReadyWindow]:
        """Resample the known grid points once a window is due among them, and emit the windows."""
        f, c = self.spec.frames, self._count
        next_due = f if c < f else f + ((c - f) // self.stride + 1) * self.stride
        if next_due > self._known_k:
            return []
        grid = self._t0 + np.arange(c, self._known_k) / self.spec.fps
        if len(self._raw_t) == 1:  # every grid point sits on the one frame (windows of one frame)
            points = np.repeat(self._raw_x[0][None], len(grid), axis=0)
        else:
            points = interpolate_at(np.stack(self._raw_x), np.array(self._raw_t), grid)
        ready = self._append(points, grid, sent_at)
        keep = bisect.bisect_right(self._raw_t, grid[-1]) - 1  # left neighbour of the next grid point
        del self._raw_t[:keep], self._raw_x[:keep]
        return ready

    def _append(self, points: np.ndarray, grid: np.ndarray, sent_at: float) -> list[ReadyWindow]:
        """Add resampled frames ``(m, J, 3)`` at grid times ``(m,)``; emit the windows they complete."""
        f, ready = self.spec.frames, []
        for p, g in zip(points, grid, strict=True):
            self._ring[self._count % f] = p
            self._count += 1
            if self._count >= f and (self._count - f) % self.stride == 0:
                head = self._count % f  # oldest frame's slot
                frames = np.concatenate([self._ring[head:], self._ring[:head]])
                assert self.stream_id is not None
                t_end = float(g)
                ready.append(
                    ReadyWindow(
                        self.stream_id, self.segment, t_end - (f - 1) / self.spec.fps, t_end, frames, sent_at
                    )
                )
        return ready


@dataclass(frozen=True, eq=False)
class WindowBatch:
    """Windows for one encoder call: ``items[i]`` is the source of normalised ``windows[i]`` ``(F, J, 3)``."""

    items: tuple[ReadyWindow, ...]
    windows: np.ndarray  # (B, F, J, 3) float32, normalised


class WindowBatcher:
    """First-come-first-served queue of ready windows from every stream, taken out in batches.

    Pure bookkeeping: the caller passes ``now`` (any monotonic clock, seconds). When more than
    ``max_pending`` windows wait (the encoder cannot keep up), the oldest are dropped and counted in
    ``dropped``: latency stays bounded and memory too.
    """

    def __init__(self, spec: WindowSpec, *, max_batch: int, max_wait_s: float, max_pending: int) -> None:
        if max_batch < 1 or max_pending < max_batch:
            raise ValueError("need 1 <= max_batch <= max_pending")
        self.spec = spec
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_pending = max_pending
        self.dropped = 0
        self._queue: deque[tuple[float, ReadyWindow]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, windows: Iterable[ReadyWindow], now: float) -> None:
        for w in windows:
            self._queue.append((now, w))
        excess = len(self._queue) - self.max_pending
        for _ in range(max(excess, 0)):
            self._queue.popleft()
            self.dropped += 1

    def queued(self) -> Iterator[ReadyWindow]:
        """The windows waiting, oldest first."""
        return (w for _, w in self._queue)

    def due(self, now: float) -> bool:
        """True when a full batch waits or the oldest window has waited ``max_wait_s``."""
        return len(self._queue) >= self.max_batch or (
            bool(self._queue) and now - self._queue[0][0] >= self.max_wait_s
        )

    def wait_s(self, now: float) -> float | None:
        """Seconds until the queue is due (0 if it is), None when empty: a poll timeout for the loop."""
        if not self._queue:
            return None
        if len(self._queue) >= self.max_batch:
            return 0.0
        return max(0.0, self._queue[0][0] + self.max_wait_s - now)

    def take(self) -> WindowBatch | None:
        """The oldest ``max_batch`` windows (or fewer), normalised together; None when empty."""
        if not self._queue:
            return None
        n = min(self.max_batch, len(self._queue))
        items = tuple(self._queue.popleft()[1] for _ in range(n))
        return WindowBatch(items, normalise_windows(np.stack([w.frames for w in items]), self.spec))
