"""Per-stream sanity checks on the receiving end of the bus (pure logic, no sockets).

A frame that claims to belong to a healthy stream but does not follow it is refused and counted,
never allowed to reset the stream's window: a stray or hostile sender can add to drop counters, not
suppress a camera's alerts. Refused (reason in brackets):

* ``sent_at`` more than ``max_clock_skew_s`` from the worker's clock [bad_sent_at];
* ``seq`` not above the stream's last one [out_of_order];
* a timestamp before the stream's last one [time_backwards], or more than ``max_time_jump_s``
  ahead of it [time_jump].

A frontend that really restarted (its ``seq`` and clock start again) is followed from its next
frame once the stream has been silent ``reanchor_after_s`` (a restart takes longer than that), or
once refused frames that agree with each other (each ``seq`` one above the previous, time not going
back) have kept arriving that long with no accepted frame between them: a healthy camera's frames
keep breaking a spoofer's run. Accepted frames after a ``seq`` gap add the missing frames to
``seq_gap``, unless the jump exceeds ``max_seq_gap``, which counts once as ``seq_jump``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bus.messages import SkeletonFrame
from config.bus import StreamGuardConfig


@dataclass
class _Stream:
    seq: int
    t: float
    accepted_at: float  # worker wall clock
    run_seq: int | None = None  # the current run of refused frames that agree with each other
    run_t: float = 0.0
    run_since: float = 0.0


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
        reason = None
        if frame.seq <= st.seq:
            reason = "out_of_order"
        elif frame.timestamp < st.t:
            reason = "time_backwards"
        elif frame.timestamp > st.t + c.max_time_jump_s:
            reason = "time_jump"
        if reason is not None and not self._restarted(st, frame, now):
            self.drops[reason] += 1
            return reason
        if reason is None:
            gap = frame.seq - st.seq - 1
            if gap > c.max_seq_gap:
                self.drops["seq_jump"] += 1
            elif gap > 0:
                self.drops["seq_gap"] += gap
        st.seq, st.t, st.accepted_at, st.run_seq = frame.seq, frame.timestamp, now, None
        return None

    def forget(self, stream_id: str) -> None:
        self._streams.pop(stream_id, None)

    def _restarted(self, st: _Stream, frame: SkeletonFrame, now: float) -> bool:
        """Whether a refused frame is the sign of a real restart (see the module docstring)."""
        c = self.config
        if now - st.accepted_at >= c.reanchor_after_s:
            return True
        follows = st.run_seq is not None and frame.seq == st.run_seq + 1 and frame.timestamp >= st.run_t
        if not follows:
            st.run_since = now
        st.run_seq, st.run_t = frame.seq, frame.timestamp
        return now - st.run_since >= c.reanchor_after_s
