"""Alert episodes: hysteresis, one episode per abnormal action, cooldown, resets, NaN scores."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pydantic import ValidationError

from bus.messages import Watched
from config.worker import EpisodeConfig
from edge.episodes import TIMELINE_POINTS, Episode, EpisodeEvent, EpisodeTracker, KeptWindow
from edge.window import ReadyWindow

THRESHOLD = 1.0
STEP = 0.25  # seconds between windows (stride 5 at 20 fps)
RULES = EpisodeConfig(
    open_k=3, open_n=5, close_after_windows=4, close_after_s=100.0, cooldown_s=5.0, windows_kept=4
)


def win(i: int, *, segment: int = 1, stream: str = "cam1", t0: float = 0.0) -> ReadyWindow:
    t_end = t0 + i * STEP
    frames = np.full((60, 20, 3), i, np.float32)  # frames tell which window they came from
    return ReadyWindow(stream, segment, t_end - 2.95, t_end, frames, sent_at(i))


def sent_at(i: int) -> float:
    return 5000.0 + i


def run(tracker: EpisodeTracker, scores: list[float], *, start: int = 0, **kw) -> list[EpisodeEvent]:
    events: list[EpisodeEvent] = []
    for i, s in enumerate(scores, start=start):
        events += tracker.update(win(i, **kw), "walk", s, THRESHOLD)
    return events


HOT, COLD = 2.0, 0.5


def test_single_spike_does_not_open_episode() -> None:
    tracker = EpisodeTracker(RULES)
    assert run(tracker, [COLD] * 10 + [9.0] + [COLD] * 10) == []
    assert run(tracker, [HOT, COLD, HOT, COLD, COLD, COLD, HOT], start=30) == []  # 2 of any 5


def test_k_of_n_hot_windows_open_an_episode_at_the_first_of_them() -> None:
    tracker = EpisodeTracker(RULES)
    events = run(tracker, [COLD, COLD, HOT, COLD, HOT, 3.0])
    assert [e.kind for e in events] == ["opened"]
    ep = events[0].episode
    assert ep.start == win(2).t_start and ep.end == win(5).t_end
    assert (ep.n_windows, ep.n_hot, ep.peak_score) == (4, 3, 3.0)
    assert ep.mean_score == pytest.approx((HOT + COLD + HOT + 3.0) / 4)
    assert events[0].trigger_sent_at == sent_at(5)
    assert (ep.stream_id, ep.profile, ep.threshold) == ("cam1", "walk", THRESHOLD)


def test_an_episode_places_the_action_between_the_middles_of_its_first_and_last_hot_windows() -> None:
    tracker = EpisodeTracker(RULES)
    events = run(tracker, [COLD, COLD, HOT, COLD, HOT, 3.0, HOT] + [COLD] * 4)
    closed = events[-1].episode
    assert closed.action_span == pytest.approx((win(2).t_start + 2.95 / 2, win(6).t_end - 2.95 / 2))
    f = win(0).frames
    one = Episode(
        "e", "cam1", "walk", THRESHOLD, 1.0, 2.5, 2.0, 1.0, 2.5, 2.0, 1, 1, (KeptWindow(1.0, 2.5, 2.0, f),)
    )
    assert one.action_span == (1.0, 2.5)  # one window: all of it
    growing = (KeptWindow(1.0, 2.0, 2.0, f), KeptWindow(1.0, 2.75, 2.0, f))  # a short segment's windows
    short = Episode("e", "cam1", "walk", THRESHOLD, 1.0, 2.75, 2.0, 1.0, 2.0, 2.0, 4, 4, growing)
    assert short.action_span == (1.0, 2.75)


def test_an_episode_whose_windows_say_when_spans_its_first_and_last_hot_moments() -> None:
    """With the short scale, a hot window says which moment its score is about (the middle of its
    hot last second): the alert spans those, not the windows' middles."""
    tracker = EpisodeTracker(RULES)
    events: list[EpisodeEvent] = []
    scores = [COLD, COLD, HOT, COLD, HOT, 3.0, HOT] + [COLD] * 4
    for i, s in enumerate(scores):
        events += tracker.update(win(i), "walk", s, THRESHOLD, at=win(i).t_end - 0.5)
    closed = events[-1].episode
    assert closed.action_span == pytest.approx((win(2).t_end - 0.5, win(6).t_end - 0.5))
    assert (closed.start, closed.end) == (win(2).t_start, win(6).t_end)  # its windows' span is kept


def test_a_score_its_last_second_decided_sits_at_that_second_on_the_timeline_in_time_order() -> None:
    """A window's score made by its last second's crop (the short scale) is about that second, a
    second after the next windows' middles: the timeline puts it there and stays in time order."""
    tracker = EpisodeTracker(RULES)
    events: list[EpisodeEvent] = []
    scores = [COLD, COLD, HOT, COLD, HOT, 3.0, HOT] + [COLD] * 4
    decided_by_crop = {4, 5}
    for i, s in enumerate(scores):
        moment = win(i).t_end - 0.5 if i in decided_by_crop else None
        events += tracker.update(win(i), "walk", s, THRESHOLD, moment=moment)
    line = events[-1].episode.timeline
    expected = sorted(
        (win(i).t_end - 0.5 if i in decided_by_crop else (win(i).t_start + win(i).t_end) / 2, scores[i])
        for i in range(2, len(scores))
    )
    assert np.allclose(line, expected)
    assert max(line, key=lambda p: p[1]) == pytest.approx((win(5).t_end - 0.5, 3.0))


def test_an_episode_keeps_every_windows_score_at_its_middle_and_a_long_one_stays_bounded() -> None:
    scores = [COLD, COLD, HOT, COLD, HOT, 3.0, HOT] + [COLD] * 4
    closed = run(EpisodeTracker(RULES), scores)[-1].episode
    mids = [(win(i).t_start + win(i).t_end) / 2 for i in range(2, len(scores))]
    expected = list(zip(mids, scores[2:], strict=True))  # from the first hot window on, the cold tail too
    assert np.allclose(closed.timeline, expected)
    long = [HOT + (i % 7) / 10 for i in range(600)] + [9.0] + [HOT] * 599 + [COLD] * 4
    line = np.array(run(EpisodeTracker(RULES), long)[-1].episode.timeline)
    assert len(line) <= TIMELINE_POINTS + 1 and 9.0 in line[:, 1]  # pairs merged, the higher kept
    assert np.all(np.diff(line[:, 0]) > 0)
    first, last = (win(0).t_start + win(0).t_end) / 2, (win(1199).t_start + win(1199).t_end) / 2
    assert first <= line[0, 0] < first + 1.0 and line[-1, 0] >= last  # it spans the whole episode


def test_one_long_abnormal_action_gives_one_episode() -> None:
    tracker = EpisodeTracker(RULES)
    rng = np.random.default_rng(0)
    # 60 windows (15 s) of an abnormal action whose scores dip below the threshold now and then.
    action = [float(x) for x in np.where(rng.random(60) < 0.2, COLD, rng.uniform(1.2, 3.0, 60))]
    action[0:3] = [HOT, HOT, HOT]
    action[30] = 5.0
    events = run(tracker, [COLD] * 20 + action + [COLD] * 20)
    kinds = [e.kind for e in events]
    assert kinds[0] == "opened" and kinds[-1] == "closed" and set(kinds[1:-1]) == {"updated"}
    # its row is brought up to date about once per second of source time (every 4 windows or more)
    updates = [e.episode.end for e in events if e.kind == "updated"]
    assert len(updates) >= 10 and all(
        b - a >= RULES.update_every_s for a, b in zip(updates, updates[1:], strict=False)
    )
    assert {e.episode.episode_id for e in events} == {events[0].episode.episode_id}
    closed = events[-1]
    ep = closed.episode
    assert closed.close_reason == "cold"
    assert (
        ep.start == win(20).t_start
        and ep.end == win(20 + max(i for i, s in enumerate(action) if s > 1)).t_end
    )
    assert ep.peak_score == 5.0 and ep.peak_t_end == win(50).t_end
    assert ep.n_hot == sum(s > THRESHOLD for s in action)
    # Kept windows are bounded: the first, the peak, the last hot one and hot ones spread over the
    # episode between them, in time order.
    kept = [int(w.frames[0, 0, 0]) for w in ep.windows]
    assert len(kept) <= RULES.windows_kept and kept[0] == 20 and 50 in kept
    assert kept == sorted(kept) and kept[-1] == 20 + max(i for i, s in enumerate(action) if s > 1)
    assert tracker.counts["opened"] == tracker.counts["closed"] == 1


def test_kept_windows_are_spread_over_a_long_episode_not_bunched_at_its_end() -> None:
    """Marking an alert normal learns the stretches its windows cover (edge/feedback.py): over a 15 s
    action, kept windows at most 3 s apart (they are 3 s long) cover all of it."""
    rules = RULES.model_copy(update={"windows_kept": 12})
    tracker = EpisodeTracker(rules)
    events = run(tracker, [COLD] * 5 + [HOT] * 60 + [COLD] * 6)  # 60 hot windows, 0.25 s apart
    ep = events[-1].episode
    kept = [int(w.frames[0, 0, 0]) for w in ep.windows]
    assert len(kept) <= 12 and kept[0] == 5 and kept[-1] == 64
    assert max(b - a for a, b in zip(kept, kept[1:], strict=False)) * STEP <= 3.0, kept


def test_episode_closes_after_a_quiet_time_without_enough_cold_windows() -> None:
    rules = RULES.model_copy(update={"close_after_windows": 100, "close_after_s": 2.0})
    tracker = EpisodeTracker(rules)
    events = run(tracker, [HOT] * 3 + [COLD] * 8)  # 8 cold windows = 2 s
    assert [(e.kind, e.close_reason) for e in events] == [("opened", None), ("closed", "quiet")]
    assert events[1].episode.end == win(2).t_end


def test_cooldown_suppresses_immediate_reopen() -> None:
    tracker = EpisodeTracker(RULES)
    first = run(tracker, [HOT] * 3 + [COLD] * 4)  # closes at window 6 (t = 1.5 s): cooldown to 6.5 s
    assert [e.kind for e in first] == ["opened", "closed"]
    assert run(tracker, [HOT] * 10, start=7) == []  # windows 7..16 end before 6.5 s ... 4.0 s
    assert tracker.counts["suppressed"] == 10
    later = run(tracker, [HOT] * 3, start=26)  # t = 6.5 s onwards
    assert [e.kind for e in later] == ["opened"] and later[0].episode.start == win(26).t_start


def test_in_the_cooldown_a_run_of_hot_windows_opens_and_flicker_does_not() -> None:
    tracker = EpisodeTracker(RULES.model_copy(update={"cooldown_hot_run": 4}))  # open 3 of 5
    first = run(tracker, [HOT] * 3 + [COLD] * 4)  # closed at window 6: cooldown to 6.5 s
    assert [e.kind for e in first] == ["opened", "closed"]
    flicker = [HOT, COLD, HOT, HOT, COLD, HOT, COLD, HOT, HOT, HOT, COLD]  # 3 of 5 often, never 4 in a row
    assert run(tracker, flicker, start=7) == []
    assert tracker.counts["suppressed"] == flicker.count(HOT)
    second = run(tracker, [HOT] * 4, start=18)  # still in the cooldown (window 21 ends at 2.3 s)
    assert [e.kind for e in second] == ["opened"]
    assert second[0].episode.start == win(18).t_start and second[0].trigger_sent_at == sent_at(21)


def test_the_cooldown_hot_run_is_never_shorter_than_open_k() -> None:
    tracker = EpisodeTracker(RULES.model_copy(update={"cooldown_hot_run": 1}))
    run(tracker, [HOT] * 3 + [COLD] * 4)
    assert run(tracker, [HOT, HOT], start=7) == []
    assert [e.kind for e in run(tracker, [HOT], start=9)] == ["opened"]  # 3 in a row: open_k


def test_a_short_segment_in_the_cooldown_opens_nothing_at_its_end() -> None:
    tracker = EpisodeTracker(RULES.model_copy(update={"cooldown_hot_run": 4}))
    run(tracker, [HOT] * 3 + [COLD] * 4)  # closed: cooldown to 6.5 s
    assert run(tracker, [HOT, HOT], start=8, segment=2) == []  # fewer than open_k, all hot
    assert tracker.end_segment(Watched("cam1"), 2) == []
    assert run(tracker, [HOT, HOT], start=40, segment=3) == []  # after the cooldown: unanimous opens
    assert [e.kind for e in tracker.end_segment(Watched("cam1"), 3)] == ["opened", "closed"]


def test_reset_closes_open_episode() -> None:
    tracker = EpisodeTracker(RULES)
    assert [e.kind for e in run(tracker, [HOT] * 4)] == ["opened"]
    events = tracker.end_segment(Watched("cam1"), 1)
    assert [(e.kind, e.close_reason) for e in events] == [("closed", "reset")]
    assert events[0].episode.end == win(3).t_end and tracker.open_episodes() == []
    # A window of the ended segment that was still queued is dropped, not reopening anything.
    assert run(tracker, [HOT] * 3, start=4) == [] and tracker.counts["late_windows"] == 3


def test_window_of_a_new_segment_closes_the_open_episode_of_the_old_one() -> None:
    rules = RULES.model_copy(update={"cooldown_s": 0.0})
    tracker = EpisodeTracker(rules)
    run(tracker, [HOT] * 4)
    events = run(tracker, [HOT] * 3, start=10, segment=2)
    assert [(e.kind, e.close_reason) for e in events] == [("closed", "reset"), ("opened", None)]
    assert events[1].episode.start == win(10).t_start  # the old segment's hot windows do not count


def test_nan_score_is_counted_not_stored() -> None:
    tracker = EpisodeTracker(RULES)
    events = run(tracker, [HOT, float("nan"), HOT, float("nan"), float("inf"), COLD])
    assert events == [] and tracker.counts["nan_scores"] == 3
    events = run(tracker, [HOT], start=6)  # third hot window among the last five stored ones
    assert [e.kind for e in events] == ["opened"] and events[0].episode.n_windows == 4


def test_streams_and_profiles_have_separate_episodes() -> None:
    tracker = EpisodeTracker(RULES)
    windows = [win(i, stream=s) for i in range(3) for s in ("cam1", "cam2")]
    scores = np.array([[HOT, COLD] if w.stream_id == "cam1" else [COLD, HOT] for w in windows], np.float32)
    events = [
        e
        for b, w in enumerate(windows)
        for p, profile in enumerate(["walk", "sit"])
        for e in tracker.update(w, profile, float(scores[b, p]), THRESHOLD)
    ]
    assert sorted((e.episode.stream_id, e.episode.profile) for e in events) == [
        ("cam1", "walk"),
        ("cam2", "sit"),
    ]
    closed = tracker.close_all()
    assert {e.close_reason for e in closed} == {"shutdown"} and len(closed) == 2


def test_open_k_above_open_n_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="open_k"):
        EpisodeConfig(open_k=6, open_n=5)


def test_a_restarted_worker_continues_the_episode_its_predecessor_left_open() -> None:
    old = EpisodeTracker(RULES)
    events = run(old, [HOT] * 6)  # opened at the third window; the worker dies after the sixth
    snapshot = old._states[(Watched("cam1"), "walk")].open.snapshot(Watched("cam1"), "walk")  # type: ignore[union-attr]
    assert [e.kind for e in events] == ["opened"]
    new = EpisodeTracker(RULES)
    assert new.resume(snapshot, within_s=30.0, deadline=1e9) == []
    # The stream comes back 10 s of source time later (the restart), still abnormal, then calms down.
    events = run(new, [HOT] * 5 + [COLD] * 4, start=46)
    assert "opened" not in [e.kind for e in events]  # the same episode continues
    ep = events[-1].episode
    assert events[-1].kind == "closed"
    assert ep.episode_id == snapshot.episode_id and ep.start == snapshot.start
    assert ep.n_windows == snapshot.n_windows + 5 and ep.end == win(50).t_end
    assert ep.windows[0].t_start == snapshot.windows[0].t_start  # the first window it ever had


def test_an_episode_whose_stream_came_back_too_late_is_closed_with_what_it_held() -> None:
    old = EpisodeTracker(RULES)
    run(old, [HOT] * 4)
    snapshot = old._states[(Watched("cam1"), "walk")].open.snapshot(Watched("cam1"), "walk")  # type: ignore[union-attr]
    new = EpisodeTracker(RULES)
    new.resume(snapshot, within_s=5.0, deadline=1e9)
    events = run(new, [HOT] * 3, start=200)  # 50 s later: a new action, a new episode
    assert [(e.kind, e.close_reason) for e in events] == [("closed", "restart"), ("opened", None)]
    assert events[0].episode == snapshot and events[1].episode.episode_id != snapshot.episode_id


def test_an_episode_whose_stream_never_came_back_is_closed_at_its_deadline() -> None:
    old = EpisodeTracker(RULES)
    run(old, [HOT] * 4)
    snapshot = old._states[(Watched("cam1"), "walk")].open.snapshot(Watched("cam1"), "walk")  # type: ignore[union-attr]
    new = EpisodeTracker(RULES)
    new.resume(snapshot, within_s=5.0, deadline=100.0)
    assert new.expire(99.0) == []
    assert [(e.kind, e.close_reason) for e in new.expire(100.0)] == [("closed", "restart")]
    assert new.expire(200.0) == [] and new.close_all() == []


def test_resuming_where_this_worker_already_has_an_episode_closes_the_old_one() -> None:
    old = EpisodeTracker(RULES)
    run(old, [HOT] * 4)
    snapshot = old._states[(Watched("cam1"), "walk")].open.snapshot(Watched("cam1"), "walk")  # type: ignore[union-attr]
    new = EpisodeTracker(RULES)
    run(new, [HOT] * 3, start=10)
    assert [(e.kind, e.close_reason) for e in new.resume(snapshot, within_s=5.0, deadline=1e9)] == [
        ("closed", "restart")
    ]
    assert [e.close_reason for e in new.close_all()] == ["shutdown"]


@pytest.mark.parametrize(
    "scores,opens",
    [
        ([HOT], True),  # a 1.0-1.2 s segment gives one window at stride 5
        ([HOT, 3.0], True),
        ([HOT, COLD], False),
        ([HOT, HOT, COLD], False),  # open_k windows: the k-of-n rule applies, and it does not hold
    ],
)
def test_a_segment_too_short_for_k_of_n_opens_an_episode_only_when_every_window_is_hot(
    scores: list[float], opens: bool
) -> None:
    tracker = EpisodeTracker(RULES)
    assert run(tracker, scores) == []
    events = tracker.end_segment(Watched("cam1"), 1, "shutdown")
    if not opens:
        assert events == []
        return
    assert [(e.kind, e.close_reason) for e in events] == [("opened", None), ("closed", "shutdown")]
    ep = events[1].episode
    assert (ep.start, ep.end, ep.n_windows, ep.threshold) == (
        win(0).t_start,
        win(len(scores) - 1).t_end,
        len(scores),
        THRESHOLD,
    )


def test_a_long_segment_ending_on_a_few_hot_windows_after_its_episode_opens_nothing_more() -> None:
    tracker = EpisodeTracker(RULES)
    events = run(tracker, [HOT] * 4 + [COLD] * 4 + [HOT, HOT])  # opened, closed cold, 2 hot in cooldown
    assert [e.kind for e in events] == ["opened", "closed"]
    assert tracker.end_segment(Watched("cam1"), 1) == []


def test_an_episode_keeps_the_score_of_every_window_it_saw_not_only_the_kept_ones() -> None:
    tracker = EpisodeTracker(RULES)
    scores = [COLD, COLD] + [HOT, COLD, HOT, 3.0] + [HOT, COLD] * 10 + [COLD] * 4
    events = run(tracker, scores)
    closed = events[-1]
    assert closed.kind == "closed"
    ep = closed.episode
    assert len(ep.windows) <= RULES.windows_kept < len(ep.timeline)  # skeletons kept: few; scores: all
    seen = range(2, len(scores) - 1)  # from the first hot window to the 4th cold in a row, which closes it
    assert [p[1] for p in ep.timeline] == [scores[i] for i in seen]
    assert [p[0] for p in ep.timeline] == [(win(i).t_start + win(i).t_end) / 2 for i in seen]


def test_a_very_long_episode_thins_its_timeline_evenly() -> None:
    tracker = EpisodeTracker(RULES.model_copy(update={"close_after_s": 1e9}))
    events = run(tracker, [HOT] * (TIMELINE_POINTS * 3))
    line = events[-1].episode.timeline
    assert TIMELINE_POINTS // 2 <= len(line) <= TIMELINE_POINTS + 1
    steps = np.diff([p[0] for p in line])
    assert steps.max() <= 2 * steps.min() + 1e-9  # spread over the whole episode: no gap over twice another
    last = TIMELINE_POINTS * 3 - 1
    assert line[0][0] == (win(0).t_start + win(0).t_end) / 2
    assert line[-1][0] >= (win(last).t_start + win(last).t_end) / 2 - steps.max()


def test_an_episode_waits_across_a_hole_and_goes_on_with_hot_windows_after_it() -> None:
    # A hole in the stream (frames back 3 s later) ends the segment but not the episode: the next
    # segment's windows go on with it under the closing rule counted afresh (2 cold then a hot one).
    tracker = EpisodeTracker(RULES)
    run(tracker, [HOT] * 4)
    assert tracker.end_segment(Watched("cam1"), 1, hole_s=3.0, deadline=100.0) == []
    assert tracker.open_episodes() == [(Watched("cam1"), "walk")]
    events = [
        e for e in run(tracker, [COLD, COLD, HOT] + [COLD] * 4, start=20, segment=2) if e.kind != "updated"
    ]
    assert [(e.kind, e.close_reason) for e in events] == [("closed", "cold")]
    ep = events[0].episode
    assert (ep.start, ep.end, ep.n_hot) == (win(0).t_start, win(22).t_end, 5)
    assert [t for t, _ in ep.timeline] == [
        (w.t_start + w.t_end) / 2 for w in map(win, [*range(4), *range(20, 27)])
    ]


def test_an_episode_cool_after_a_hole_ends_at_its_last_hot_window_before_it() -> None:
    tracker = EpisodeTracker(RULES)
    run(tracker, [HOT] * 4 + [COLD])
    tracker.end_segment(Watched("cam1"), 1, hole_s=3.0, deadline=100.0)
    events = run(tracker, [COLD] * 4, start=20, segment=2)
    assert [(e.kind, e.close_reason, e.episode.end) for e in events] == [("closed", "cold", win(3).t_end)]


def test_a_new_segments_window_after_a_hole_goes_on_with_the_episode_before_the_segments_end_is_fed() -> None:
    # (windows are scored before the reset that ended the segment is fed, e.g. after a backlog)
    tracker = EpisodeTracker(RULES)
    run(tracker, [HOT] * 4)
    after = [replace(win(i, segment=2), after_hole=True) for i in range(20, 23)]
    assert [e.kind for w in after for e in tracker.update(w, "walk", HOT, THRESHOLD)] == ["updated"]
    assert tracker.end_segment(Watched("cam1"), 1, hole_s=3.0) == []  # (already gone on)
    assert tracker.open_episodes() == [(Watched("cam1"), "walk")]
    skipped = replace(win(30, segment=4), after_hole=True)  # segment 3 ended unseen: not the next
    assert [(e.kind, e.close_reason) for e in tracker.update(skipped, "walk", HOT, THRESHOLD)] == [
        ("closed", "reset")
    ]


def test_an_episode_waiting_across_a_hole_closes_at_its_deadline_or_at_once_past_resume_within_s() -> None:
    tracker = EpisodeTracker(RULES)
    run(tracker, [HOT] * 4)
    tracker.end_segment(Watched("cam1"), 1, hole_s=3.0, deadline=100.0)
    assert tracker.expire(99.0) == []
    assert [(e.close_reason, e.episode.end) for e in tracker.expire(100.0)] == [("reset", win(3).t_end)]
    run(tracker, [HOT] * 4, start=100, segment=2)  # after the cooldown
    events = tracker.end_segment(Watched("cam1"), 2, hole_s=RULES.resume_within_s + 1.0)
    assert [(e.kind, e.close_reason) for e in events] == [("closed", "reset")]
