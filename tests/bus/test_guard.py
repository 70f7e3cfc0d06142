"""The receiving end's per-stream checks, without sockets: clocks are passed in."""

from __future__ import annotations

from bus.guard import StreamGuard
from bus.messages import SkeletonFrame
from config.bus import StreamGuardConfig

CFG = StreamGuardConfig(max_time_jump_s=60.0, reanchor_after_s=1.0, max_seq_gap=1000)


def frame(seq: int, t: float, sent_at: float = 1000.0) -> SkeletonFrame:
    return SkeletonFrame("cam1", seq, t, None, None, sent_at=sent_at)


def test_a_healthy_stream_is_accepted_and_gaps_are_counted() -> None:
    guard = StreamGuard(CFG)
    assert [guard.accept(frame(s, s / 30), 1000.0) for s in (1, 2, 5, 6)] == [None] * 4
    assert guard.drops == {"seq_gap": 2}


def test_a_restart_is_followed_after_silence_but_a_spoofer_between_live_frames_never_is() -> None:
    guard = StreamGuard(CFG)
    now = 1000.0
    for s in range(1, 31):
        now += 1 / 30
        assert guard.accept(frame(s, s / 30, now), now) is None
        # a consistent fake run (seq and clock of its own) between the camera's frames, for a whole second
        assert guard.accept(frame(10_000 + s, 5_000 + s / 30, now), now) == "time_jump"
    assert guard.drops["time_jump"] == 30
    # the camera goes silent 1 s: the next frame (a restarted frontend counting from 1) is followed
    now += 1.2
    assert guard.accept(frame(1, 0.0, now), now) is None


def test_a_jumped_clock_is_followed_once_its_frames_agree_for_a_while() -> None:
    """A source whose clock really jumped (no other sender) is not refused forever."""
    guard = StreamGuard(CFG)
    assert guard.accept(frame(1, 0.0), 1000.0) is None
    refused = [guard.accept(frame(s, 10_000 + s / 30), 1000.0 + s / 30) for s in range(2, 40)]
    assert refused[0] == "time_jump" and refused[-1] is None  # followed after 1 s of agreeing frames


def test_a_frame_sent_far_from_our_clock_is_refused() -> None:
    guard = StreamGuard(CFG)
    assert guard.accept(frame(1, 0.0, sent_at=-1e308), 1000.0) == "bad_sent_at"
    assert guard.accept(frame(1, 0.0, sent_at=1000.0 + 3600), 1000.0) == "bad_sent_at"
    assert guard.accept(frame(1, 0.0), 1000.0) is None and len(guard) == 1


def test_a_single_absurd_seq_never_moves_the_stream() -> None:
    guard = StreamGuard(CFG)
    for s in range(1, 31):
        assert guard.accept(frame(s, s / 30), 1000.0 + s / 30) is None
    assert guard.accept(frame(2**62, 31 / 30), 1001.03) == "seq_jump"  # a probe, otherwise plausible
    assert guard.accept(frame(31, 31 / 30), 1001.04) is None  # the camera carries on
    # nor after a silence: a restart counts from 1 again, it never jumps ahead
    assert guard.accept(frame(2**64 - 1, 40.0), 1003.0) == "seq_jump"
    assert guard.accept(frame(32, 40.1), 1003.1) is None


def test_refused_frames_of_others_never_hold_back_a_restarted_camera() -> None:
    """The camera's frontend restarted (seq and clock from 0) while another sender keeps sending
    junk between its frames: the camera is followed after reanchor_after_s all the same."""
    guard = StreamGuard(CFG)
    now = 1000.0
    for s in range(1, 301):
        now += 1 / 30
        assert guard.accept(frame(s, 100 + s / 30, now), now) is None
    followed_at = None
    for s in range(1, 91):  # the restarted camera, 3 s
        now += 1 / 30
        for k in range(5):  # junk between each of its frames: random seqs, clocks that agree with nothing
            guard.accept(frame(7_000 + 13 * s + k, 500.0 - s - k, now), now)
        if guard.accept(frame(s, s / 30, now), now) is None and followed_at is None:
            followed_at = s
    assert followed_at is not None and followed_at <= 32  # after 1 s of its frames
