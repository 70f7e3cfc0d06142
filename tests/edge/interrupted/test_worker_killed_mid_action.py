"""A worker killed mid-action, its successor resuming the alert it left open, gives the alert an
uninterrupted worker gives: the successor's windows go on with it under the closing rule counted afresh
from the first of them, as after a hole in the stream (edge/episodes.py), so a first window or two that
happen to be cool for a moment do not close it. The same holds where the frontend restarted too,
numbering people afresh (edge/successor.py). Real bus frames of a Kinder-Gator recording (walk in place,
throw a ball at 10-15.1 s, walk) scored by the worker's pipeline; a killed worker leaves its episodes'
latest states, which the next resumes as from the outbox; the frames meanwhile are lost."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from bus.messages import PersonSkeleton, SkeletonFrame
from config.worker import WorkerConfig
from edge.episodes import Episode, EpisodeEvent
from edge.pipeline import Pipeline
from tests.edge.interrupted.replay import feed, left_open

# (killed at, its successor's first frame), source seconds. The alert opens at 10.45 s; a successor
# back at 12.0-12.4 s has its first windows (3 s long) cool (ending 14.9-15.4 s), a hot one after them.
KILLS = {
    "early": [(10.5, 12.0)],
    "late": [(10.9, 12.4)],
    "twice": [(10.5, 12.0), (15.8, 17.3)],  # the second after the action: its alert closes as it would
}


def _numbered(frames: Sequence[SkeletonFrame], since: float, ids: dict[int, int]) -> list[SkeletonFrame]:
    """``frames`` as a frontend run numbering people since ``since`` sends them, person p as ids[p]."""
    return [
        SkeletonFrame.of_people(
            "cam",
            f.seq,
            f.timestamp,
            tuple(PersonSkeleton(ids[p.person_id], p.joints, p.visibility, p.box) for p in f.people),
            f.sent_at,
            people_since=since,
        )  # fmt: skip
        for f in frames
    ]


def _alerts(
    frames: Sequence[SkeletonFrame], profile, backend, kills: Sequence[tuple[float, float]], *,
    renumbered: bool = False,
) -> list[EpisodeEvent]:  # fmt: skip
    """Every event of a run whose worker is killed at each ``kills`` (at, back): the next resumes what
    it left open, the frames between lost. ``renumbered``: the frontend restarted too, numbering
    people afresh (the thrower, person 1, is person 2 of the next run), the worker not killed."""
    spans = [(0.0, kills[0][0] if kills else math.inf)]
    spans += [
        (back, kills[n + 1][0] if n + 1 < len(kills) else math.inf) for n, (_, back) in enumerate(kills)
    ]
    pipeline = Pipeline(WorkerConfig(), backend, [profile])
    events: list[EpisodeEvent] = []
    for n, (start, end) in enumerate(spans):
        run = [f for f in frames if start <= f.timestamp < end]
        if n and renumbered:
            run = _numbered(run, 1000.0 * (n + 1), {1: 2, 2: 1} if n % 2 else {1: 1, 2: 2})
        elif n:
            left = left_open(events)
            pipeline = Pipeline(WorkerConfig(), backend, [profile])
            for ep in left:
                events += pipeline.tracker.resume(ep, within_s=60.0, deadline=math.inf)
        elif renumbered:
            run = _numbered(run, 1000.0, {1: 1, 2: 2})
        events += feed(pipeline, run)
    return events + pipeline.close_all()


def _thrower(events: Sequence[EpisodeEvent]) -> list[EpisodeEvent]:
    """The events of alerts over the thrower's windows (the walker's never alert)."""
    return [e for e in events if e.episode.start < 11.0]


@pytest.fixture(scope="module")
def uninterrupted(recorded, profile, backend) -> dict[str, Episode]:
    """The thrower's one alert where no worker is killed, by how the frames number people."""
    out = {}
    for people, frames in recorded.items():
        (out[people],) = [
            e.episode for e in _thrower(_alerts(frames, profile, backend, [])) if e.kind == "closed"
        ]
    return out


@pytest.mark.parametrize("when", list(KILLS))
@pytest.mark.parametrize("people", ["person-0", "tracked"])
def test_a_worker_killed_mid_action_gives_the_alert_an_uninterrupted_one_gives(
    recorded, profile, backend, uninterrupted, people: str, when: str
) -> None:
    whole = uninterrupted[people]
    events = _thrower(_alerts(recorded[people], profile, backend, KILLS[when]))
    assert len({e.episode.episode_id for e in events}) == 1, [(e.kind, e.close_reason) for e in events]
    (closed,) = [e for e in events if e.kind == "closed"]
    assert closed.close_reason in ("cold", "quiet")  # decided by the successor's windows
    assert closed.episode.start == whole.start
    # its end the last hot moment the windows had, theirs a hop apart from the uninterrupted run's
    assert abs(closed.episode.end - whole.end) <= 0.25


@pytest.mark.parametrize("when", ["early", "late"])
def test_a_renumbered_persons_alert_goes_on_past_cool_first_windows(
    recorded, profile, backend, uninterrupted, when: str
) -> None:
    whole = uninterrupted["tracked"]
    events = _thrower(_alerts(recorded["tracked"], profile, backend, KILLS[when], renumbered=True))
    assert len({e.episode.episode_id for e in events}) == 1, [(e.kind, e.close_reason) for e in events]
    (closed,) = [e for e in events if e.kind == "closed"]
    assert closed.close_reason in ("cold", "quiet") and closed.episode.person == 2
    assert abs(closed.episode.end - whole.end) <= 0.25
