"""Per-person sliding windows: bus frames in, fixed-length encoder windows out, and their batching.

A :class:`StreamWindow` turns one watched person's (camera stream and person track, :class:`Watched`) :class:`~bus.messages.SkeletonFrame` s into raw
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
  smaller than the last one; a frame under ``MIN_FRAME_INTERVAL_S`` after the last one is skipped as
  a duplicate, so the frames waiting for the next grid point or a missing joint stay few).

After a reset, the stream starts a new *segment* at its next fully valid frame. Windows carry their
segment number so downstream state (alert episodes) can tell them apart; a reset is also reported to
``on_reset``. A segment ended by a *hole* in its stream (a frame that comes over ``max_gap_s`` after
the stream's previous frame: a camera's outage, a live frontend restarted) says so in its report
(``WindowReset.hole_s``) and the next segment's windows in theirs (``ReadyWindow.after_hole``): the
episodes wait across it (edge/episodes.py), where a person who left or was lost from view in frames
that kept coming ends them.

A stream that went silent (wall clock) is *stalled* (:meth:`StreamWindow.stall`, reset reason
``stale``): its segment ends as at a reset, but is reported only when its next frame does not go on
where it stopped (a hole it would not have bridged) or when :meth:`StreamWindow.let_go` gives up on
it. A next frame that does go on (a replayed recording whose restarted frontend continues after its
last frame) continues the segment, as if it had come in time: its windows and its episodes go on.

Emission (the short-segment rule of :mod:`edge.segments`, shared with enrolment):

* from ``spec.frames`` resampled frames on, the sliding window, every ``stride`` frames;
* a segment that ends (a reset, or :meth:`StreamWindow.finish`) shorter than a window but with at
  least ``min_frames`` frames gives, when it ends, the windows it held at ``min_frames`` frames
  and every ``stride`` frames after, plus one of all its frames if they were not all held yet:
  each made from all the segment's frames up to that point by
  :func:`models.preprocess.cut_windows`, the function enrolment cuts clips with, so the last one is
  the window enrolment would cut from the segment as a clip. They wait for the segment's end
  because a segment that goes on to fill a window is a normal stream start, where such windows
  (mostly padding around a second or two of motion) look like no enrolled clip and would alert
  at every person's arrival (measured in docs/worker.md); that segment gets its sliding windows.
  With ``growing`` on, each of them is also emitted at once, marked ``growing``, for the worker to
  score by vigour alone: a person who moves far faster than anything normal is seen in their
  first seconds in view, not at 3 s (docs/experiments/2026-12-06-vigour.md);
* a segment that ends under ``min_frames`` gives no window and is counted (``segments["too_short"]``).

:class:`WindowBatcher` collects ready windows from all streams, first come first served, and hands
out one normalised ``(B, F, 20, 3)`` batch per encoder call: a batch is due when it is full or its
oldest window has waited ``max_wait_s``, so a slow or silent stream never holds the others back.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from bus.messages import Box, SkeletonFrame, Watched
from edge.segments import skeleton_seconds
from models.preprocess import WindowSpec, cut_windows, fill_gaps, interpolate_at, normalise_windows
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
# The shortest time between two frames a window keeps (a 1000 fps camera's). Frames wait in the window
# until the next grid point or a missing joint's fill: with timestamps a microsecond apart a stream
# piled them up without end, and a missing joint made every frame re-read all of them.
MIN_FRAME_INTERVAL_S = 1e-3


@dataclass(frozen=True, eq=False)  # eq=False: array field
class ReadyWindow:
    """One window ready for the encoder.

    frames: ``(F, 20, 3)`` float32 raw canonical joints (not normalised).
    t_start / t_end: source times (seconds) of its first and last resampled frame (for a window of a
        short segment: of the segment's first and last frame it holds).
    segment: the stream's segment number (it changes at every reset).
    last_sent_at: ``sent_at`` of the frame whose arrival completed the window (latency origin).
    segment_frames: for a window made from a segment shorter than a window, how many resampled
        frames of the segment it holds (the rest is ``cut_windows``' doing); None for a full window.
    person: the person track within the stream (``Watched``); box: the union of the person's
        image-space boxes over the window's frames, None when the frontend sent none.
    others: the other people in view, ``(person, box)``, in the frame that completed the window.
    growing: a window of a segment still shorter than a window, emitted as the segment grows and
        scored by its last second's vigour alone (edge/vigour.py); the same window is also held for
        the segment's end, as every short window is.
    after_hole: its segment began after a hole in its stream that ended the segment before (module
        docstring): the episodes open on the person go on with it if its windows are hot in time.
    """

    stream_id: str
    segment: int
    t_start: float
    t_end: float
    frames: np.ndarray
    last_sent_at: float
    segment_frames: int | None = None
    person: int = 0
    box: Box | None = None
    others: tuple[tuple[int, Box], ...] = ()
    growing: bool = False
    after_hole: bool = False

    @property
    def who(self) -> Watched:
        return Watched(self.stream_id, self.person)


def union_box(boxes: Iterable[Box | None]) -> Box | None:
    """The smallest box holding every given box (None among them ignored; None if all are)."""
    known = [b for b in boxes if b is not None]
    if not known:
        return None
    x0, y0, x1, y1 = zip(*known, strict=True)
    return min(x0), min(y0), max(x1), max(y1)


@dataclass(frozen=True)
class WindowReset:
    """A stream's segment ended: ``segment`` is the one that ended, ``t_last`` its last frame's time;
    ``hole_s``: the source seconds without any frame of the stream after it, where a frame coming
    after such a hole ended it (0: it ended otherwise, or its stream never came back)."""

    stream_id: str
    segment: int
    reason: str
    t_last: float
    person: int = 0
    hole_s: float = 0.0

    @property
    def who(self) -> Watched:
        return Watched(self.stream_id, self.person)


class StreamWindow:
    """The sliding window of one stream (see the module docstring for the rules).

    ``push`` is the only input; it returns the windows the frame completed, oldest first. ``reset``
    and ``finish`` end the segment and return its short windows if it ended shorter than a window. ``min_frames``:
    resampled frames a segment needs before it is scored (``edge.segments.min_segment_frames``;
    None or ``spec.frames`` and above: full windows only).

    Counters: ``resets`` by reason, ``skipped`` frames that carried nothing usable, by kind, and
    ``segments`` ended segments by outcome: ``too_short`` (under ``min_frames``: no window),
    ``short`` (scored, shorter than a window), ``full``. ``longest_s`` / ``skeleton_s``: the longest
    and the total seconds of skeleton of the ended segments.
    """

    def __init__(
        self,
        spec: WindowSpec,
        *,
        stride: int,
        max_gap_s: float,
        min_visibility: float,
        min_frames: int | None = None,
        on_reset: Callable[[WindowReset], None] | None = None,
        growing: bool = False,
    ) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1; got {stride}")
        if max_gap_s < 0:
            raise ValueError(f"max_gap_s must be >= 0; got {max_gap_s}")
        if min_frames is not None and min_frames < 1:
            raise ValueError(f"min_frames must be >= 1; got {min_frames}")
        self.spec = spec
        self.stride = stride
        self.min_frames = spec.frames if min_frames is None else min(min_frames, spec.frames)
        self.max_gap_s = max_gap_s
        self.min_visibility = min_visibility
        self.on_reset = on_reset
        self.growing = growing  # also emit each short window as the segment grows (ReadyWindow.growing)
        self.stream_id: str | None = None
        self.person = 0
        self.segment = 0  # number of segments started; the current one while active
        self.resets: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.segments: Counter[str] = Counter()
        self.longest_s = 0.0
        self.skeleton_s = 0.0
        self._active = False
        self._last_sent_at = 0.0
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
        # The segment's resampled frames, in order: frame ``i`` of the segment at ``_frames[i - _base]``.
        # A window is one slice of it; the oldest frames are dropped only when it is full and no
        # later window needs them (it holds 4 windows, so that happens once in 3 windows' frames).
        self._frames = np.zeros((4 * spec.frames, NUM_JOINTS, 3), np.float32)
        self._base = 0
        self._count = 0  # grid points resampled in this segment
        self._short_done = 0  # frames held by the segment's last short window
        self._held: list[ReadyWindow] = []  # short windows, out when the segment ends short
        self._boxes: deque[tuple[float, Box]] = deque()  # (time, box) of the recent usable frames
        # A stalled segment (stall) kept for a frame that goes on with it: its outcome and seconds as
        # counted when it ended, taken back if it goes on
        self._stalled: tuple[str, float] | None = None
        self._hole_before = False  # the last segment ended at a hole: the next one's windows say so
        self._back_at = -math.inf  # when its stream came back after that hole
        self._after_hole = False  # the active segment began after a hole (ReadyWindow.after_hole)

    @property
    def active(self) -> bool:
        return self._active

    def push(self, frame: SkeletonFrame) -> list[ReadyWindow]:
        """Add one frame of this stream; returns the windows it completed (usually none or one),
        the last window of a segment its arrival ended included."""
        if self.stream_id is None:
            self.stream_id, self.person = frame.stream_id, frame.person_id
        elif frame.stream_id != self.stream_id or (frame.person_id != self.person and frame.person):
            raise ValueError(
                f"frame of {Watched(frame.stream_id, frame.person_id)} pushed to the window of "
                f"{Watched(self.stream_id, self.person)}"
            )
        t, sent_at = frame.timestamp, frame.sent_at
        hole_s = t - self._last_t if t - self._last_t > self.max_gap_s else 0.0  # nothing came meanwhile
        if hole_s and (self._active or self._stalled is not None):  # a hole ends the segment
            self._back_at = t
        if self._stalled is not None:
            self._go_on_or_let_go(t, hole_s)
        ended: list[ReadyWindow] = []  # the last window of a segment this frame ended
        if self._active:
            if t < self._last_t:
                ended = self.reset("time_backwards", sent_at=sent_at)
            elif t - self._last_t < MIN_FRAME_INTERVAL_S:
                self.skipped["duplicate_time"] += 1
                return []
        missing, complete = self._classify(frame)
        if missing is not None:
            self.skipped[missing] += 1
            if self._active:
                self._last_t = t
                if t - self._last_usable_t() > self.max_gap_s:
                    ended = self.reset(_RESET_FOR_MISSING[missing], sent_at=sent_at, hole_s=hole_s)
            elif self._hole_before and t - self._back_at > self.max_gap_s:
                self._report(_RESET_FOR_MISSING[missing])  # not seen since the hole: it ends after all
            return ended
        assert frame.joints is not None  # a frame that is not missing has joints
        if self._active and t - self._last_usable_t() > self.max_gap_s:
            ended = self.reset("gap", sent_at=sent_at, hole_s=hole_s)
        if frame.box is not None:
            self._boxes.append((t, frame.box))
        self._last_sent_at = sent_at
        if not self._active:
            if not complete:
                self.skipped["nan_joints"] += 1  # a segment starts at a fully valid frame
                return ended
            self._start(t, frame.joints)
            return ended + self._emit_due(sent_at)
        self._last_t = t
        if complete and not self._pending_t:
            self._add_resolved(t, frame.joints)
        else:
            self._pending_t.append(t)
            self._pending_x.append(frame.joints)
            self._resolve()
        ready = self._emit_due(sent_at)
        if self._pending_t and self._pending_t[-1] - self._raw_t[-1] > self.max_gap_s:
            # The oldest waiting frame misses a joint whose gap can no longer be bridged.
            ready += self.reset("nan_joints", sent_at=sent_at)
            if complete:
                self._start(t, frame.joints)
                ready += self._emit_due(sent_at)
        return ended + ready

    def reset(self, reason: str, *, sent_at: float | None = None, hole_s: float = 0.0) -> list[ReadyWindow]:
        """End the current segment (no-op when none is active); ``reason`` is counted and reported,
        with ``hole_s`` when a frame after a hole of that many seconds ended it.

        Returns the segment's windows if it ended shorter than a window (module docstring), with
        ``sent_at`` (default: that of the segment's last frame) as their latency origin. The worker calls it
        itself for a stream that went silent (e.g. ``reason="stale"``).
        """
        if not self._active:
            return []
        ready = self._end(self._last_sent_at if sent_at is None else sent_at)
        self.resets[reason] += 1
        self._report(reason, hole_s)
        return ready

    def stall(self) -> list[ReadyWindow]:
        """The stream sent nothing for a while (wall clock; the worker's ``stale_after_s``): end the
        segment as ``reset("stale")`` does, its short windows out now, but report it to ``on_reset``
        only when the next frame does not go on with it or at :meth:`let_go`. A next frame that the
        segment would have bridged, had it come in time, continues it (same segment number): a
        recording's frontend restarted mid-action, its frames going on where they stopped, is one
        stretch of skeleton (and one alert), not two."""
        if not self._active:
            return []
        ready = self._end(self._last_sent_at, keep=True)
        self.resets["stale"] += 1
        return ready

    @property
    def awaiting_return(self) -> bool:
        """Its last segment ended at a hole in its stream, and its person, not seen since the stream
        came back, is not gone yet (that takes ``max_gap_s`` of frames without them)."""
        return self._hole_before

    @property
    def stalled(self) -> bool:
        """A stalled segment is kept, not reported yet (:meth:`stall`)."""
        return self._stalled is not None

    def let_go(self, hole_s: float = 0.0) -> None:
        """Give up on a stalled segment (its stream sent nothing for too long, or ``hole_s``: a frame
        came after a hole of that many seconds): it is reported to ``on_reset`` (reason ``stale``)
        and its frames are dropped."""
        if self._stalled is None:
            return
        self._stalled = None
        self._release()
        self._report("stale", hole_s)

    def finish(self) -> list[ReadyWindow]:
        """End the current segment because the stream is done (shutdown, end of a replay): like
        :meth:`reset` but neither counted as a reset nor reported to ``on_reset``."""
        if not self._active:
            return []
        return self._end(self._last_sent_at)

    @property
    def last_t(self) -> float:
        """Timestamp of the newest frame of the current (or last) segment."""
        return self._last_t

    @property
    def recent_box(self) -> Box | None:
        """The union of the person's boxes since the start of their latest window (None: none sent)."""
        return union_box(b for _, b in self._boxes)

    @property
    def segment_s(self) -> float:
        """Seconds of skeleton the active segment holds so far (0 when none is active)."""
        return skeleton_seconds(self._known_k, self.spec) if self._active else 0.0

    # --- internals -----------------------------------------------------------------------------

    def _report(self, reason: str, hole_s: float = 0.0) -> None:
        self._hole_before = hole_s > 0
        if self.on_reset is not None:
            assert self.stream_id is not None
            self.on_reset(
                WindowReset(self.stream_id, self.segment, reason, self._last_t, self.person, hole_s)
            )

    def _go_on_or_let_go(self, t: float, hole_s: float) -> None:
        """The first frame after a stall (``hole_s`` after the one before, if over ``max_gap_s``): the
        segment goes on if the frame is within ``max_gap_s`` of its last usable frame (source time),
        as it would have had it come in time; else it ends."""
        assert self._stalled is not None
        if not self._last_t <= t <= self._last_usable_t() + self.max_gap_s:
            self.let_go(hole_s)
            return
        outcome, seconds = self._stalled
        self._stalled = None
        self.segments -= Counter({outcome: 1})  # counted again when it ends
        self.skeleton_s -= seconds
        self._active = True

    def _classify(self, frame: SkeletonFrame) -> tuple[_MissingKind | None, bool]:
        """-> (why the frame counts as missing, or None; whether every joint is finite)."""
        if frame.joints is None or frame.visibility is None:
            return "no_person", False
        complete, mean_visibility = frame.pose_quality  # the frame's check worked it out
        if mean_visibility is None:
            return "nan_joints", False
        if mean_visibility < self.min_visibility:
            return "low_visibility", complete
        return None, complete

    def _box(self, t_start: float, t_end: float) -> Box | None:
        """The union of the boxes of the frames from ``t_start`` to ``t_end``; older ones are dropped."""
        if not self._boxes:  # a frontend without boxes: every window's case
            return None
        eps = 1.0 / self.spec.fps  # the frames either side of the window's grid points
        while self._boxes and self._boxes[0][0] < t_start - eps:
            self._boxes.popleft()
        return union_box(b for t, b in self._boxes if t <= t_end + eps)

    def _last_usable_t(self) -> float:
        return self._pending_t[-1] if self._pending_t else self._raw_t[-1]

    def _start(self, t: float, joints: np.ndarray) -> None:
        self.segment += 1
        self._after_hole, self._hole_before = self._hole_before, False
        self._active = True
        self._last_t = t
        self._t0 = t
        self._raw_t[:], self._raw_x[:] = [t], [joints]
        self._known_k = 1
        self._count = 0
        self._base = 0
        self._short_done = 0
        self._held.clear()

    def _end(self, sent_at: float, *, keep: bool = False) -> list[ReadyWindow]:
        """Close the active segment: its short windows if it ended short, and the segment counters.
        ``keep``: keep what the segment needs to go on (a stalled one, :meth:`stall`)."""
        ready = self._resample_known(sent_at)
        n, f = self._count, self.spec.frames
        if n < self.min_frames:
            outcome = "too_short"
        elif n < f:
            outcome = "short"
            if n > self._short_done:
                self._short_windows(self._t0 + (n - 1) / self.spec.fps, sent_at)
            ready += [replace(w, last_sent_at=sent_at) for w in self._held]  # completed by the end
            self._held.clear()
        else:
            outcome = "full"
        self.segments[outcome] += 1
        seconds = skeleton_seconds(n, self.spec)
        self.longest_s = max(self.longest_s, seconds)
        self.skeleton_s += seconds
        self._active = False
        if keep:
            self._stalled = (outcome, seconds)
        else:
            self._release()
        return ready

    def _release(self) -> None:
        """Drop the frames an ended segment held."""
        self._raw_t.clear()
        self._raw_x.clear()
        self._pending_t.clear()
        self._pending_x.clear()
        self._boxes.clear()

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

    def _next_due(self) -> int:
        """The resampled-frame count at which the next window is due."""
        c, f, m, s = self._count, self.spec.frames, self.min_frames, self.stride
        if c < m:
            return m
        if c < f:
            return min(m + ((c - m) // s + 1) * s, f)
        return f + ((c - f) // s + 1) * s

    def _emit_due(self, sent_at: float) -> list[ReadyWindow]:
        """Resample the known grid points once a window is due among them, and emit the windows."""
        if self._next_due() > self._known_k:
            return []
        return self._resample_known(sent_at)

    def _resample_known(self, sent_at: float) -> list[ReadyWindow]:
        """Resample every known grid point not resampled yet; emit the windows they complete."""
        c = self._count
        if c >= self._known_k:
            return []
        # Python floats, not numpy: a few points per window (t0 + i / fps, the values resample's grid has)
        grid = [self._t0 + i / self.spec.fps for i in range(c, self._known_k)]
        if len(self._raw_t) == 1:  # every grid point sits on the one frame (windows of one frame)
            points = np.repeat(self._raw_x[0][None], len(grid), axis=0)
        else:
            points = interpolate_at(self._raw_x, self._raw_t, grid)
        ready = self._append(points, grid, sent_at)
        keep = bisect.bisect_right(self._raw_t, grid[-1]) - 1  # left neighbour of the next grid point
        del self._raw_t[:keep], self._raw_x[:keep]
        return ready

    def _append(self, points: np.ndarray, grid: list[float], sent_at: float) -> list[ReadyWindow]:
        """Add resampled frames ``(m, J, 3)`` at grid times ``(m,)``; emit the windows they complete."""
        f, first, end = self.spec.frames, self._count, self._count + len(points)
        self._store(points)
        ready = []
        while (n := self._next_due()) <= end:  # the frame counts at which a window is due
            self._count = n
            t_end = grid[n - first - 1]
            if n < f:
                self._short_windows(t_end, sent_at)
                if self.growing:
                    ready.append(replace(self._held[-1], growing=True))
                continue
            self._held.clear()  # the segment filled a window: its sliding windows take over
            assert self.stream_id is not None
            t_start = t_end - (f - 1) / self.spec.fps
            ready.append(
                ReadyWindow(
                    self.stream_id,
                    self.segment,
                    t_start,
                    t_end,
                    self._frames[n - f - self._base : n - self._base].copy(),  # a copy: the buffer moves on
                    sent_at,
                    person=self.person,
                    box=self._box(t_start, t_end),
                    after_hole=self._after_hole,
                )  # fmt: skip
            )
        self._count = end
        return ready

    def _store(self, points: np.ndarray) -> None:
        """Append resampled frames to ``_frames``; when it is full, keep only its last ``frames - 1``
        (all any later window needs) or, while the segment is shorter than a window, all of them."""
        held, k = self._count - self._base, len(points)
        if held + k > len(self._frames):
            keep = min(held, self.spec.frames - 1)
            if keep + k > len(self._frames):  # a burst of more frames than it holds: a bigger one
                grown = np.zeros((keep + k + self.spec.frames, NUM_JOINTS, 3), np.float32)
                grown[:keep] = self._frames[held - keep : held]
                self._frames = grown
            else:
                self._frames[:keep] = self._frames[held - keep : held]
            self._base, held = self._count - keep, keep
        self._frames[held : held + k] = points

    def _short_windows(self, t_end: float, sent_at: float) -> None:
        """Hold the windows of all the segment's frames so far (fewer than a window), cut by
        enrolment's rule, until the segment ends."""
        n = self._count
        assert self.stream_id is not None and n < self.spec.frames
        self._short_done = n
        assert self._base == 0  # a segment shorter than a window still holds all its frames
        # a copy: the buffer moves on
        cut = np.array(cut_windows(self._frames[:n], self.spec), dtype=np.float32)
        box = self._box(self._t0, t_end)
        self._held += [
            ReadyWindow(
                self.stream_id,
                self.segment,
                self._t0,
                t_end,
                w,
                sent_at,
                segment_frames=n,
                person=self.person,
                box=box,
                after_hole=self._after_hole,
            )  # fmt: skip
            for w in cut
        ]


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
