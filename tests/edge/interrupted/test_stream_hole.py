"""A hole in a live stream (no frames for over max_gap_s, then frames again: a camera's outage, a killed
frontend restarted) mid-action keeps one alert: the episode waits for the person's next windows and
goes on with them if they are hot in time, or closes at its last hot moment before the hole if not.
Real bus frames of a Kinder-Gator recording (walk in place, throw a ball at 10-15.1 s, walk) stamped
by a live camera's clock, scored by the worker's pipeline; the hole's seconds pass on the worker's
clock too, its housekeeping (stalling silent streams, expiring waits) running every second of it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from bus.messages import PersonSkeleton, SkeletonFrame, Watched
from config.worker import EpisodeConfig, WorkerConfig
from edge.episodes import Episode, EpisodeEvent
from edge.pipeline import Pipeline

CLOCK0 = 1.8e9  # the camera host's wall clock at the recording's start: a live camera's timestamps
AT = 12.0  # a hole mid-action: the alert opened at 10.45 s, the throw goes on to 15.1 s
PEOPLE = ["person-0", "tracked"]  # a single-person frontend's, or person 1 with a walker beside them


def _live(
    frames: Sequence[SkeletonFrame], holes: Sequence[tuple[float, float]], *, away: tuple[int, float] = (-1, 0.0),
    since: float = CLOCK0 - 60.0,
) -> list[SkeletonFrame]:  # fmt: skip
    """``frames`` as a live camera sends them with ``holes`` (at, seconds): the frames from ``at`` on
    come that much later (those of the hole were lost, the action goes on after it). ``away``
    (person, seconds): that person is missing from the frames of that long after the first hole.
    ``since``: the frames' ``people_since`` (0: a frontend older than schema 3 does not say it)."""
    out = []
    for f in frames:
        shift = sum(s for at, s in holes if f.timestamp >= at)
        gone = bool(holes) and holes[0][0] <= f.timestamp < holes[0][0] + away[1]
        people = tuple(
            PersonSkeleton(p.person_id, p.joints, p.visibility, p.box)
            for p in f.people
            if not (gone and p.person_id == away[0])
        )
        t = CLOCK0 + f.timestamp + shift
        out.append(SkeletonFrame.of_people("cam", f.seq, t, people, sent_at=t, people_since=since))
    return out


def _events(pipeline: Pipeline, frames: Sequence[SkeletonFrame], now: list[float]) -> list[EpisodeEvent]:
    """Feed ``frames`` as the worker does, its monotonic clock ``now`` the camera's; while a hole
    lasts, its housekeeping runs every second; then the stream ends (shutdown)."""
    events: list[EpisodeEvent] = []
    last = None
    for f in frames:
        if last is not None:
            for t in np.arange(last + 1.0, f.timestamp, 1.0):  # the worker's housekeeping in a hole
                now[0] = float(t) - CLOCK0
                pipeline.reset_stale()
                events += [e for b in pipeline.run_due(flush=True) for e in b.events]
                events += pipeline.tracker.expire(now[0])
        now[0], last = f.timestamp - CLOCK0, f.timestamp
        pipeline.push(f)
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    return events + pipeline.close_all()


def _alerts(
    recorded, profile, backend, people: str, holes: Sequence[tuple[float, float]], cfg: WorkerConfig | None = None,
    **kw,
) -> list[tuple[Episode, str | None]]:  # fmt: skip
    """The thrower's alerts as closed, with why: every event of an alert closes it."""
    now = [0.0]
    pipeline = Pipeline(cfg or WorkerConfig(), backend, [profile], clock=lambda: now[0])
    events = _events(pipeline, _live(recorded[people], holes, **kw), now)
    thrower = 0 if people == "person-0" else 1
    ids = {e.episode.episode_id for e in events if e.episode.person == thrower}
    closed = [e for e in events if e.kind == "closed" and e.episode.person == thrower]
    assert len(closed) == len(ids), [(e.kind, e.close_reason) for e in events]
    return [(e.episode, e.close_reason) for e in closed]


def _since(t: float) -> float:
    return CLOCK0 + t


@pytest.mark.parametrize("hole_s", [1.5, 3.0, 8.0], ids=["1.5s-gap", "3s-stalled", "8s-stalled"])
@pytest.mark.parametrize("people", PEOPLE)
def test_a_hole_mid_action_keeps_one_alert_with_both_sides(
    recorded, profile, backend, people: str, hole_s: float
) -> None:
    ((alert, _),) = _alerts(recorded, profile, backend, people, [(AT, hole_s)])
    back = _since(AT + hole_s)
    assert alert.start < _since(AT) and alert.end > back + 2.0  # its end: the last hot moment after it
    # its windows and its timeline from both sides, none across the hole (windows never span it)
    assert any(k.t_end < _since(AT) for k in alert.windows) and any(k.t_start >= back for k in alert.windows)
    times = [t for t, _ in alert.timeline]
    assert min(times) < _since(AT) and max(times) > back
    assert not any(_since(AT) < t < back for t in times)
    assert alert.who == Watched("cam", 0 if people == "person-0" else 1)


@pytest.mark.parametrize("people", PEOPLE)
def test_two_holes_in_one_action_keep_one_alert(recorded, profile, backend, people: str) -> None:
    # 1.7 s of frames between the holes (a segment too short for a window, scored at its end), the
    # throw going on for 2.6 s after the second
    ((alert, _),) = _alerts(recorded, profile, backend, people, [(10.8, 2.0), (12.5, 3.0)])
    back = _since(12.5 + 5.0)
    assert alert.start < _since(10.8) and alert.end > back + 2.0  # hot again after the second hole
    assert any(_since(12.8) < t < _since(14.5) for t, _ in alert.timeline)  # between the holes too


@pytest.mark.parametrize("people", PEOPLE)
def test_a_hole_after_the_action_ends_the_alert_at_the_action(
    recorded, profile, backend, people: str
) -> None:
    # The throw is over, its alert still open (its last hot window E, closing 2 s after) when a 3 s
    # hole comes; the walk after it is cool: the alert closes on those windows, ending at E as
    # without the hole, not after the hole.
    ((whole, _),) = _alerts(recorded, profile, backend, people, [])
    at = whole.end - CLOCK0 + 0.6
    ((alert, reason),) = _alerts(recorded, profile, backend, people, [(at, 3.0)])
    assert (alert.start, alert.end) == (whole.start, whole.end)
    assert reason in ("cold", "quiet")  # decided by the windows after the hole


@pytest.mark.parametrize("stalled", [False, True], ids=["recording-gap", "live-stalled"])
def test_a_hole_longer_than_resume_within_s_closes_the_alert_at_once(
    recorded, profile, backend, stalled: bool
) -> None:
    # resume_within_s 5 s, a hole of 8 s: closed at the hole as before, the action after it a new alert
    cfg = WorkerConfig(episodes=EpisodeConfig(resume_within_s=5.0, cooldown_s=0.0))
    if not stalled:  # no wall clock passes (a recording with a hole): only the hole's length decides
        cfg = cfg.model_copy(update={"stale_after_s": 3600.0})
    (first, reason), (second, _) = _alerts(recorded, profile, backend, "person-0", [(AT, 8.0)], cfg)
    assert reason == "reset" and first.end <= _since(AT) and second.start >= _since(AT + 8.0)


@pytest.mark.parametrize("people", PEOPLE)
def test_a_person_back_just_after_their_stream_keeps_their_alert(
    recorded, profile, backend, people: str
) -> None:
    # Missing from the first 0.3 s of frames after a 3 s hole (found again by the pose model), their
    # window not retired meanwhile: one alert.
    thrower = 0 if people == "person-0" else 1
    ((alert, _),) = _alerts(recorded, profile, backend, people, [(AT, 3.0)], away=(thrower, 0.3))
    assert alert.end > _since(AT + 5.0)


@pytest.mark.parametrize("people", PEOPLE)
def test_a_person_gone_after_a_hole_has_their_alert_closed_at_its_last_hot_moment(
    recorded, profile, backend, people: str
) -> None:
    # Gone during the 3 s hole (the frames after it, a walker's alone or none): closed as a reset once
    # max_gap_s of frames showed it, not at the worker's wall-clock give-up, its end before the hole.
    thrower = 0 if people == "person-0" else 1
    ((alert, reason),) = _alerts(recorded, profile, backend, people, [(AT, 3.0)], away=(thrower, 100.0))
    assert alert.end <= _since(AT) and reason == "reset"  # (at the worker's give-up: shutdown here)


@pytest.mark.parametrize("hole_s", [1.5, 3.0], ids=["1.5s-gap", "3s-stalled"])
@pytest.mark.parametrize("people", PEOPLE)
def test_an_old_frontends_hole_closes_a_tracked_persons_alert_as_its_restart_might_have_renumbered(
    recorded, profile, backend, people: str, hole_s: float
) -> None:
    # A frontend older than schema 3 (people_since 0) does not say when it began numbering people,
    # so a hole in its stream may be its restart, person 1 someone else after it: a tracked person's
    # alert closes at the hole (never going on with whoever holds the id), the hot windows after it
    # another alert. Person 0's (a single-person camera, whoever is in view) waits across it.
    cfg = WorkerConfig(episodes=EpisodeConfig(cooldown_s=0.0))
    alerts = _alerts(recorded, profile, backend, people, [(AT, hole_s)], cfg, since=0.0)
    back = _since(AT + hole_s)
    if people == "person-0":
        ((alert, _),) = alerts
        assert alert.start < _since(AT) and alert.end > back + 2.0
        return
    (first, reason), (second, _) = alerts
    assert reason == "reset" and first.start < _since(AT) and first.end <= _since(AT)
    assert second.start >= back and second.end > back + 2.0
