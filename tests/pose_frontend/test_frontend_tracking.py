"""Person ids across frames (pose_frontend/tracking.py): pure bookkeeping, no MediaPipe."""

from __future__ import annotations

import numpy as np
import pytest

from pose_frontend.tracking import BODY_LANDMARKS, PersonTracker, box_center, pose_distance


def person(cx: float, cy: float, height: float = 100.0, lean: float = 0.0) -> np.ndarray:
    """33 image landmarks of an upright person ``height`` px tall centred at (cx, cy); ``lean``
    shifts the upper body sideways (another posture)."""
    lm = np.zeros((33, 2))
    lm[:, 0] = cx
    lm[:, 1] = cy
    top, bottom = cy - height / 2, cy + height / 2
    lm[0] = (cx + lean, top)  # nose
    lm[[11, 12]] = [
        (cx - 0.12 * height + lean, top + 0.2 * height),
        (cx + 0.12 * height + lean, top + 0.2 * height),
    ]
    lm[[13, 14]] = [
        (cx - 0.15 * height + lean, top + 0.35 * height),
        (cx + 0.15 * height + lean, top + 0.35 * height),
    ]
    lm[[15, 16]] = [
        (cx - 0.16 * height + lean, top + 0.5 * height),
        (cx + 0.16 * height + lean, top + 0.5 * height),
    ]
    lm[[23, 24]] = [(cx - 0.08 * height, top + 0.55 * height), (cx + 0.08 * height, top + 0.55 * height)]
    lm[[25, 26]] = [(cx - 0.08 * height, top + 0.77 * height), (cx + 0.08 * height, top + 0.77 * height)]
    lm[[27, 28]] = [(cx - 0.08 * height, bottom), (cx + 0.08 * height, bottom)]
    return lm


def box_of(lm: np.ndarray) -> tuple[float, float, float, float]:
    return (lm[:, 0].min(), lm[:, 1].min(), lm[:, 0].max(), lm[:, 1].max())


def see(tracker: PersonTracker, track_id: int, lm: np.ndarray, t: float) -> None:
    tracker.seen(track_id, lm, box_of(lm), t)


def start(tracker: PersonTracker, lm: np.ndarray, t: float) -> int:
    track_id = tracker.start(lm, box_of(lm), t)
    assert track_id is not None
    return track_id


def test_pose_distance_is_small_for_one_person_and_large_for_two_side_by_side() -> None:
    a = person(100, 100)
    assert pose_distance(a, a + 2.0) < 0.05
    assert pose_distance(a, person(135, 100)) > 0.3  # shoulder to shoulder, 35 px apart, 100 px tall
    assert BODY_LANDMARKS.tolist() == [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def test_new_people_get_new_ids_and_a_retired_id_is_never_used_again() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=1.0)
    a = start(tracker, person(100, 100), 0.0)
    b = start(tracker, person(300, 100), 0.0)
    assert (a, b) == (1, 2)
    tracker.missed(a)
    assert tracker.retire_stale(0.9) == []  # lost, not yet for lost_timeout_s
    assert tracker.retire_stale(1.1) == [a]
    assert start(tracker, person(100, 100), 1.2) == 3
    assert tracker.counters.snapshot() | {} == {
        "started": 3, "resumed": 0, "lost": 1, "retired": 1, "duplicates": 0, "refused": 0, "swaps": 0,
    }  # fmt: skip


def test_beyond_max_people_a_new_person_is_refused_and_counted() -> None:
    tracker = PersonTracker(max_people=1, lost_timeout_s=1.0)
    start(tracker, person(100, 100), 0.0)
    assert tracker.start(person(300, 100), box_of(person(300, 100)), 0.0) is None
    assert tracker.counters.refused == 1


def test_a_lost_person_is_resumed_where_their_walk_was_heading_and_a_stranger_is_not() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    a = start(tracker, person(100, 200), 0.0)
    for i in range(1, 6):  # walking right at 100 px/s
        see(tracker, a, person(100 + 10 * i, 200), i / 10)
    tracker.missed(a)
    # 1 s later, hidden all along: they should be near x = 250, not where they were last seen (150).
    assert tracker.match_lost([(250.0, 205.0), (600.0, 200.0)], t=1.5) == [a, None]


def test_matching_detections_to_lost_people_is_one_to_one_and_prefers_the_close_pairs() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    a = start(tracker, person(100, 200), 0.0)
    b = start(tracker, person(400, 200), 0.0)
    tracker.missed(a)
    tracker.missed(b)
    # Detection 0 is near a, detection 1 is far from both: detection 1 must not steal a from 0 even
    # though a greedy total-cost sum over unmatched pairs would allow it.
    assert tracker.match_lost([(105.0, 200.0), (250.0, 900.0)], t=0.1) == [a, None]
    assert tracker.match_lost([(405.0, 200.0), (100.0, 195.0)], t=0.1) == [b, a]


def test_a_person_beside_a_tracked_one_is_not_covered_but_one_on_them_is() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    start(tracker, person(100, 200, height=80), 0.0)
    assert tracker.covered((102.0, 205.0), 0.0)
    assert not tracker.covered((130.0, 200.0), 0.0)  # side by side, 30 px apart


def test_of_two_tracks_reading_one_person_the_one_whose_posture_continues_keeps_them() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    a = start(tracker, person(100, 200, lean=0.0), 0.0)
    b = start(tracker, person(112, 200, lean=25.0), 0.0)
    # The two overlap; both regions read b's person (leaning), a few pixels on.
    read = person(108, 200, lean=25.0)
    assert tracker.losers_of_duplicates({a: read, b: read + 1.0}, t=0.1) == {a}
    assert tracker.counters.duplicates == 1


def test_an_active_track_keeps_a_pose_a_lost_track_also_reads() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    a = start(tracker, person(100, 200), 0.0)
    b = start(tracker, person(100, 200), 0.0)
    tracker.missed(b)
    assert tracker.losers_of_duplicates({a: person(101, 200), b: person(101, 200)}, t=0.1) == {b}


def test_poses_of_two_people_are_not_duplicates() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    a = start(tracker, person(100, 200), 0.0)
    b = start(tracker, person(160, 200), 0.0)
    assert tracker.losers_of_duplicates({a: person(101, 200), b: person(161, 200)}, t=0.1) == set()


def test_a_track_that_followed_a_passer_by_is_recognised_when_its_person_reappears() -> None:
    """Two people meet; the walker's track is lost while the stander's track follows the walker
    away. Someone reappearing where they met is the stander: the two tracks swap back."""
    tracker = PersonTracker(max_people=4, lost_timeout_s=1.0)
    stander = start(tracker, person(300, 200), 0.0)
    walker = start(tracker, person(100, 200), 0.0)
    t = 0.0
    for i in range(1, 21):  # the walker comes from the left at 100 px/s
        t = i / 10
        see(tracker, stander, person(300, 200), t)
        see(tracker, walker, person(100 + 10 * i, 200), t)
    tracker.missed(walker)  # at t=2.0 the walker is on the stander: one pose, the stander's track keeps it
    for i in range(1, 11):  # the stander's track now follows the walker on to the right
        see(tracker, stander, person(300 + 10 * i, 200), t + i / 10)
    now = t + 1.0
    assert tracker.taken_over((300.0, 200.0), now) == (stander, walker)
    assert tracker.taken_over((700.0, 200.0), now) is None  # nobody met there
    tracker.swap(stander, walker)
    assert tracker.tracks[walker].active and box_center(tracker.tracks[walker].box)[0] == pytest.approx(400)
    assert not tracker.tracks[stander].active  # lost where the two met, standing
    assert box_center(tracker.tracks[stander].box)[0] == pytest.approx(300)
    assert tracker.tracks[stander].predicted_hip(now)[0] == pytest.approx(300)
    see(tracker, stander, person(300, 200), now)
    assert tracker.tracks[stander].active and tracker.counters.swaps == 1


def test_a_lost_person_reappearing_where_they_were_is_resumed_not_swapped() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=1.0)
    stander = start(tracker, person(300, 200), 0.0)
    walker = start(tracker, person(100, 200), 0.0)
    t = 0.0
    for i in range(1, 21):
        t = i / 10
        see(tracker, stander, person(300, 200), t)
        see(tracker, walker, person(100 + 10 * i, 200), t)
    tracker.missed(stander)  # the walker passes in front of the stander, whose track is lost
    for i in range(1, 6):
        see(tracker, walker, person(300 + 10 * i, 200), t + i / 10)
    # The stander reappears where they stood: that is where their lost track is predicted.
    assert tracker.taken_over((300.0, 200.0), t + 0.5) is None
    assert tracker.crossed((300.0, 200.0), t + 0.5) is None
    assert tracker.match_lost([(300.0, 200.0)], t + 0.5) == [stander]


def walkers_meeting(tracker: PersonTracker) -> tuple[int, int]:
    """Two people walking at each other at 50 px/s (``right`` from x=200, ``left`` from x=400), seen
    to 1.8 s; at 1.9 s, where they meet, ``left``'s track is lost. Returns (right, left)."""
    right = start(tracker, person(200, 200), 0.0)
    left = start(tracker, person(400, 210), 0.0)
    for i in range(1, 19):
        see(tracker, right, person(200 + 5 * i, 200), i / 10)
        see(tracker, left, person(400 - 5 * i, 210), i / 10)
    tracker.missed(left)
    return right, left


def test_a_track_that_went_on_with_the_person_it_crossed_gets_its_own_back() -> None:
    """vtest.avi at 73 s: a man walking right passes one walking left, whose track is lost behind
    him; the first one's track goes on walking left. He reappears (a detection) where he would
    have walked on: the two tracks take back their own people."""
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    right, left = walkers_meeting(tracker)
    for i in range(19, 25):  # right's track goes on with the man walking left
        see(tracker, right, person(400 - 5 * i, 210), i / 10)
    now, he = 2.4, (320.0, 205.0)  # the hip centre of the man walking right, 290 at 1.8 s
    assert tracker.match_lost([he], now) == [left]  # what resumed the lost track before
    crossing = tracker.crossed(he, now)
    assert crossing is not None and crossing.takes == {left: right} and crossing.appeared == right
    tracker.reassign(crossing)
    assert tracker.tracks[left].active and box_center(tracker.tracks[left].box)[0] == pytest.approx(280)
    assert tracker.tracks[left].velocity[0] == pytest.approx(-50)
    assert not tracker.tracks[right].active  # lost where it was when they met, walking right
    assert tracker.tracks[right].predicted_hip(now) == pytest.approx(he)
    see(tracker, right, person(320, 200), now)
    assert tracker.tracks[right].active and tracker.counters.swaps == 1
    assert tracker.crossed((330.0, 205.0), now + 0.1) is None  # nobody lost now


@pytest.mark.parametrize("went_on_with_left", [True, False])
def test_a_track_walking_the_way_of_the_one_it_crossed_is_given_it_before_anyone_appears(
    went_on_with_left: bool,
) -> None:
    """As above, checked every frame with nobody appearing: once right's track is where left's
    was heading and a quarter of its height from where its own man is (0.4 s after they met),
    left's track takes its reading and right's is lost, walking on where its man is, for a
    detection to resume it."""
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    right, left = walkers_meeting(tracker)
    given = []
    for i in range(19, 25):
        x = 400 - 5 * i if went_on_with_left else 200 + 5 * i
        see(tracker, right, person(x, 210 if went_on_with_left else 200), i / 10)
        if crossing := tracker.crossed(None, i / 10):
            given.append((i / 10, crossing.takes, crossing.appeared))
            tracker.reassign(crossing)
            break
    if not went_on_with_left:
        assert given == [] and tracker.match_lost([(280.0, 215.0)], 2.4) == [left]
        return
    assert given == [(pytest.approx(2.3), {left: right}, right)]
    assert tracker.tracks[left].active and not tracker.tracks[right].active
    assert tracker.match_lost([(320.0, 205.0)], 2.4) == [right]  # the man walking right, found


def test_a_lost_walker_reappearing_where_they_were_heading_is_resumed_not_swapped() -> None:
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    right, left = walkers_meeting(tracker)
    for i in range(19, 25):  # right's track walks on with its own man
        see(tracker, right, person(200 + 5 * i, 200), i / 10)
    assert tracker.crossed((280.0, 215.0), 2.4) is None  # where the lost one was heading
    assert tracker.match_lost([(280.0, 215.0)], 2.4) == [left]


def test_a_person_cut_off_by_the_frame_edge_is_found_at_their_hips_not_their_box() -> None:
    # Someone close to the camera, their hips below the frame (480 px tall): the box is clipped to
    # the frame, its centre 160 px above their hips. A detection at their hips started a second
    # id while they were tracked, and a new id when they had been lost for a frame.
    tracker = PersonTracker(max_people=4, lost_timeout_s=2.0)
    lm = person(300, 560, height=400)
    a = tracker.start(lm, (lm[:, 0].min(), 360.0, lm[:, 0].max(), 480.0), 0.0)
    assert a is not None
    hips = (300.0, 580.0)
    assert tracker.covered(hips, 0.1)
    assert not tracker.covered((420.0, 580.0), 0.1)  # someone beside them
    tracker.missed(a)
    assert tracker.match_lost([hips], 0.1) == [a]
