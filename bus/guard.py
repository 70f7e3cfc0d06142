"""Per-stream sanity checks on the receiving end of the bus (pure logic, no sockets).

A frame that claims to belong to a healthy stream but does not follow it is refused and counted,
never allowed to reset the stream's window: a stray or hostile sender can add to drop counters, not
suppress a camera's alerts. Refused (reason in brackets):

* ``sent_at`` more than ``max_clock_skew_s`` from the worker's clock [bad_sent_at];
* ``seq`` not above the stream's last one [out_of_order];
* a timestamp before the stream's last one [time_backwards], or more than ``max_time_jump_s``
  ahead of it [time_jump];
* ``seq`` more than ``max_seq_gap`` above the stream's last one [seq_jump].

A frontend that really restarted (its ``seq`` and clock start again) is followed:

* from its first frame once the stream has been silent ``reanchor_after_s`` (no frame at all, refused
  ones included; a restart takes longer than that), unless that frame jumps ``seq`` (no restarted
  frontend does);
* otherwise once refused frames that agree with each other (each ``seq`` one above the previous,
  time not going back) have kept arriving ``reanchor_after_s`` with no accepted frame between them.
  Refused frames are sorted into a few such runs (a new run displaces the shortest), so frames that
  agree with none of them start a run of their own and cannot hold back the real one; an accepted
  frame ends every run, so a healthy camera keeps breaking a spoofer's.

Accepted frames after a ``seq`` gap add the missing frames to ``seq_gap``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bus.messages import SkeletonFrame
from config.bus import StreamGuardConfig

MAX_RUNS = 64  # refused runs followed per stream; the shortest (then stalest) makes room for a new one


@dataclass
class _Run:
    """Refused frames that agree with each other: the last one's seq and time, since when, how many."""

    seq: int
    t: float
    since: float
    last_at: float
    frames: int = 1


@dataclass
class _Stream:
    seq: int
    t: float
    seen_at: float  # worker wall clock of its last frame, accepted or not
    runs: dict[int, _Run] = field(default_factory=dict)  # by the seq that continues each


class StreamGuard:
    """Decides, frame by frame, whether a stream accepts it; ``drops`` counts refusals by reason."""

    def __init__(self, config: StreamGuardConfig, drops: Counter[str] | None = None) -> None:
        self.config = config
        self.drops: Counter[str] = drops if drops is not None else Counter()
        self._streams: dict[str, _Stream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def accept(self, frame: SkeletonFrame, now: float) -> str | None:
        """None when ``frame`` continues its stream (or starts it), else the reason it is refused
        (also counted in ``drops``); ``now`` is the wall clock."""
        c = self.config
        if abs(frame.sent_at - now) > c.max_clock_skew_s:
            self.drops["bad_sent_at"] += 1
            return "bad_sent_at"
        st = self._streams.get(frame.stream_id)
        if st is None:
            self._streams[frame.stream_id] = _Stream(frame.seq, frame.timestamp, now)
            return None
        reason = self._reason(st, frame)
        silent = now - st.seen_at >= c.reanchor_after_s
        st.seen_at = now
        if (
            reason is not None
            and not (silent and reason != "seq_jump")
            and not self._run_lasted(st, frame, now)
        ):
            self.drops[reason] += 1
            return reason
        if reason is None and frame.seq - st.seq > 1:
            self.drops["seq_gap"] += frame.seq - st.seq - 1
        st.seq, st.t = frame.seq, frame.timestamp
        st.runs.clear()
        return None

    def forget(self, stream_id: str) -> None:
        self._streams.pop(stream_id, None)

    def _reason(self, st: _Stream, frame: SkeletonFrame) -> str | None:
        c = self.config
        if frame.seq <= st.seq:
            return "out_of_order"
        if frame.timestamp < st.t:
            return "time_backwards"
        if frame.timestamp > st.t + c.max_time_jump_s:
            return "time_jump"
        if frame.seq - st.seq > c.max_seq_gap:
            return "seq_jump"
        return None

    def _run_lasted(self, st: _Stream, frame: SkeletonFrame, now: float) -> bool:
        """Add a refused frame to the run it continues (or start one); whether that run has now
        lasted long enough to be followed (see the module docstring)."""
        run = st.runs.pop(frame.seq, None)
        if run is None or frame.timestamp < run.t:
            if len(st.runs) >= MAX_RUNS:
                del st.runs[min(st.runs, key=lambda k: (st.runs[k].frames, st.runs[k].last_at))]
            run = _Run(frame.seq, frame.timestamp, now, now, 0)
        run.seq, run.t, run.last_at, run.frames = frame.seq, frame.timestamp, now, run.frames + 1
        st.runs[frame.seq + 1] = run
        return run.frames > 1 and now - run.since >= self.config.reanchor_after_s
