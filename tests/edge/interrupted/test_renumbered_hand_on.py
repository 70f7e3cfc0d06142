"""A frontend that numbers people from 1 again (a new daemon, a new `haad frontend run`) hands a
tracked person's open alert on to the newcomer plainly standing where they were, and to nobody when
two could be them. Real bus frames (SkeletonFrame with per-person boxes and people_since) of a
Kinder-Gator recording (walk in place, throw a ball at 10-15 s, walk), scored by the worker's pipeline;
a killed worker leaves its episodes' latest states, which the next resumes as from the outbox."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from bus.messages import Box, PersonSkeleton, SkeletonFrame
from config.worker import WorkerConfig
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline
from edge.successor import successor
from evaluation.person_mix import side_by_side_box
from tests.edge.interrupted.replay import feed, left_open

GAP_S = 1.5  # source time lost to each restart (its frames never sent)
LEFT, RIGHT = side_by_side_box(0, 2), side_by_side_box(1, 2)
ACROSS = (0.3, 0.1, 0.7, 0.95)  # someone crossing in front of LEFT: overlapping it by IoU 0.23


@pytest.fixture(scope="module")
def frames(recorded) -> list[SkeletonFrame]:
    """Person 1 (LEFT) throws a ball at 10-15 s; person 2 (RIGHT) walks in place beside them."""
    return recorded["tracked"]


def _run(
    frames: Sequence[SkeletonFrame], start: float, end: float, since: float,
    ids: dict[int, int], boxes: dict[int, Box] | None = None,
) -> list[SkeletonFrame]:  # fmt: skip
    """The frames from ``start`` to ``end`` as a frontend run numbering people since ``since`` sends
    them: person ``p`` as ``ids[p]`` (absent: not found), in ``boxes[p]`` where given."""
    out = []
    for f in frames:
        if not start <= f.timestamp < end:
            continue
        people = tuple(
            PersonSkeleton(ids[p.person_id], p.joints, p.visibility, (boxes or {}).get(p.person_id, p.box))
            for p in f.people
            if p.person_id in ids
        )
        out.append(SkeletonFrame.of_people("cam", f.seq, f.timestamp, people, f.sent_at, people_since=since))
    return out


def _restarts(
    frames: Sequence[SkeletonFrame], kills: Sequence[float], ids: Sequence[dict[int, int]],
    boxes: Sequence[dict[int, Box] | None], pipeline_of, worker_dies: bool,
) -> list[EpisodeEvent]:  # fmt: skip
    """Frontend runs killed at ``kills`` (source seconds), each next one starting GAP_S later and
    numbering people afresh (``ids[n]``, ``boxes[n]``: run n's); with ``worker_dies`` the worker is
    killed with each and the next resumes what it left open (its rows 1000 s of wall clock apart)."""
    pipeline = pipeline_of()
    ends = [*kills, math.inf]
    events = feed(pipeline, _run(frames, 0.0, ends[0], 1000.0, ids[0], boxes[0]))
    for n in range(1, len(ends)):
        if worker_dies:
            left = left_open(events)
            pipeline = pipeline_of()
            for ep in left:
                events += pipeline.tracker.resume(
                    ep, within_s=60.0, deadline=math.inf, ended_at=1000.0 * n + 500.0
                )
        run = _run(frames, ends[n - 1] + GAP_S, ends[n], 1000.0 * (n + 1), ids[n], boxes[n])
        events += feed(pipeline, run)
    return events + pipeline.close_all()


@pytest.fixture
def pipeline_of(backend, profile):
    return lambda: Pipeline(WorkerConfig(), backend, [profile])


# The alert opens at 10.45 s; the action ends at 15.1 s.
KILLS = {"early": [10.8], "late": [14.0], "twice": [10.8, 14.0]}
ALONE, SWAPPED = {1: 1}, {1: 2, 2: 1}


@pytest.mark.parametrize("worker_dies", [False, True], ids=["frontend-restarted", "daemon-killed"])
@pytest.mark.parametrize("when", list(KILLS))
@pytest.mark.parametrize("people", ["alone", "two-apart"])
def test_a_renumbered_person_standing_where_they_were_keeps_their_alert(
    frames, pipeline_of, worker_dies: bool, when: str, people: str
) -> None:
    kills = KILLS[when]
    ids = [
        ALONE if people == "alone" else ({1: 1, 2: 2} if n % 2 == 0 else SWAPPED)
        for n in range(len(kills) + 1)
    ]
    events = _restarts(frames, kills, ids, [None] * len(ids), pipeline_of, worker_dies)
    alerts = {e.episode.episode_id for e in events}
    assert len(alerts) == 1, [(e.kind, e.episode.person, e.close_reason) for e in events]
    (closed,) = [e for e in events if e.kind == "closed"]
    assert closed.close_reason != "restart"
    assert closed.episode.box == LEFT  # the thrower's windows only, also after each restart
    assert closed.episode.timeline[-1][0] > kills[-1] + GAP_S  # it went on after the last restart
    assert closed.episode.person == ids[-1][1]  # under the thrower's id of the last run


@pytest.mark.parametrize("worker_dies", [False, True], ids=["frontend-restarted", "daemon-killed"])
@pytest.mark.parametrize("when", list(KILLS))
def test_two_people_where_the_renumbered_person_was_get_none_of_their_alert(
    frames, pipeline_of, worker_dies: bool, when: str
) -> None:
    # At each restart the walker crosses in front of the thrower: either could be the one who was
    # there, so the alert closes (restart) and nobody's windows join it.
    kills = KILLS[when]
    ids = [{1: 1, 2: 2}] + [SWAPPED] * len(kills)
    boxes: list[dict[int, Box] | None] = [None] + [{2: ACROSS}] * len(kills)
    events = _restarts(frames, kills, ids, boxes, pipeline_of, worker_dies)
    first = events[0].episode.episode_id
    assert events[0].kind == "opened" and events[0].episode.box == LEFT
    (closed,) = [e for e in events if e.kind == "closed" and e.episode.episode_id == first]
    assert closed.close_reason == "restart"
    assert closed.episode.box == LEFT and closed.episode.timeline[-1][0] < kills[0]
    for e in events:  # no alert holds windows of two runs (one person's action given to another)
        runs = {sum(t > k for k in kills) for t, _ in e.episode.timeline}
        assert len(runs) == 1, (e.kind, e.episode.person, e.episode.box)


def test_the_successor_is_the_one_newcomer_in_the_old_place_and_nobody_else_is_near() -> None:
    assert successor(LEFT, [RIGHT], {1: RIGHT, 2: LEFT}) == 2
    assert successor(LEFT, [], {1: LEFT, 2: ACROSS}) is None  # two newcomers there
    assert successor(LEFT, [ACROSS], {1: LEFT}) is None  # someone else of the old run was near
    assert successor(LEFT, [], {1: (0.3, 0.1, 0.9, 0.95)}) is None  # overlapping, not the same place
    assert successor(LEFT, [], {1: LEFT, 2: None}) is None  # someone who could be anywhere
    assert successor(LEFT, [], {}) is None
