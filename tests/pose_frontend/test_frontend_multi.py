"""Several people in one camera, with real MediaPipe on real images and video: three_people.jpg,
MediaPipe's squat video against its reference landmarks, the first seconds of vtest.avi against
the hand count (evaluation/data/vtest_people.json), and three men crossing on it at 73 s."""

from __future__ import annotations

import json
import threading
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from bus.messages import decode, encode
from config.frontend import EstimatorConfig, ImagesSourceConfig, PeopleConfig, StreamConfig
from evaluation.multiperson import VTEST_TRUTH, run_estimator, score_vtest, video_frames
from pose_frontend.estimator import EstimatorError
from pose_frontend.multi import MultiPoseEstimator, sweep_tiles
from pose_frontend.process import run_stream
from pose_frontend.sources import ImageFolderSource, VideoFileSource
from tests.pose_frontend.frontend_helpers import Collect

VTEST_FRAMES = 41  # hand-counted frames 0, 10, 20, 30, 40; about 10 s of MediaPipe on a 2-core host


@pytest.fixture(scope="module")
def vtest_video(data_root: Path) -> Path:
    path = data_root / "opencv_vtest" / "vtest.avi"
    if not path.is_file():
        pytest.fail(f"vtest.avi missing from the shared data: {path}")
    return path


def test_sweep_tiles_cover_the_frame_at_every_scale() -> None:
    tiles = sweep_tiles(768, 576, min_person_px=60)
    assert tiles[0] == (0, 0, 768, 576)  # the whole frame first
    small = [t for t in tiles if t[2] == 240]
    assert {t[0] for t in small} >= {0, 768 - 240} and {t[1] for t in small} >= {0, 576 - 240}
    # Half-overlapping: any 120 px square lies wholly inside some 240 px tile.
    for x in range(0, 768 - 120, 37):
        for y in range(0, 576 - 120, 29):
            assert any(
                tx <= x and ty <= y and x + 120 <= tx + w and y + 120 <= ty + h for tx, ty, w, h in small
            )
    assert sweep_tiles(300, 200, min_person_px=100) == [(0, 0, 300, 200)]


def test_three_people_jpg_yields_three_skeletons(mp_testdata: Path) -> None:
    [(t, rgb)] = list(ImageFolderSource(mp_testdata / "three_people.jpg"))
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        people = estimator.estimate(rgb, t)
    assert len(people) == 3
    assert sorted(p.track_id for p in people) == [1, 2, 3]
    noses = sorted(p.landmarks.image[0, 0] for p in people)
    assert np.diff(noses).min() > 0.15 * rgb.shape[1]  # three different people across the picture
    for p in people:
        assert p.joints.shape == (20, 3) and np.isfinite(p.joints).all()
        assert p.visibility.shape == (20,) and 0 <= p.visibility.min() <= p.visibility.max() <= 1
        assert 0 <= p.score <= 1 and p.landmarks.image.shape == (33, 3)


def test_a_person_seated_in_front_of_a_standing_one_keeps_their_id(mp_testdata: Path) -> None:
    # three_people.jpg as a still: the man seated in front lies within the box of the man behind
    # him, who raises an arm. He was dropped as a part of that man from the second frame on and came
    # back under new ids (1, 4, 5, 6), unpublished in between.
    [(_, rgb)] = list(ImageFolderSource(mp_testdata / "three_people.jpg"))
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        ids = [[p.track_id for p in estimator.estimate(rgb, i / 10)] for i in range(3)]
        assert estimator.tracker.counters.started == 3
    assert ids == [[1, 2, 3]] * 3


def test_one_person_keeps_one_id_and_legacy_accuracy_on_the_squat_video(squat_video: Path, squat_run) -> None:
    with VideoFileSource(squat_video) as source, MultiPoseEstimator(PeopleConfig()) as estimator:
        frames = [estimator.estimate(rgb, t) for t, rgb in source]
    assert all(len(people) == 1 for people in frames)
    assert {people[0].track_id for people in frames} == {1}
    image = np.stack([people[0].landmarks.image[:, :2] for people in frames])
    world = np.stack([people[0].landmarks.world for people in frames])
    legacy_image = np.stack([r.image[:, :2] for r in squat_run.results])
    # The same landmark model and smoothing as the legacy graph, on the region it tracks itself.
    image_p99 = np.percentile(np.abs(image - squat_run.expected_image), 99)
    legacy_p99 = np.percentile(np.abs(legacy_image - squat_run.expected_image), 99)
    assert image_p99 <= max(15.0, legacy_p99 + 1.0)
    assert np.percentile(np.abs(world - squat_run.expected_world), 99) <= 0.1


def test_small_people_of_vtest_found_against_the_hand_count(vtest_video: Path) -> None:
    run = run_estimator(video_frames(vtest_video, VTEST_FRAMES), PeopleConfig())
    report = score_vtest(run, json.loads(VTEST_TRUTH.read_text()))
    # Frames 0, 10, 20, 30 and 40: 18 people wholly in view, 50-95 px tall, 4 of them in frames 20-40
    # (two walking side by side, two more standing by the sign).
    assert (report.hand_counted_frames, report.people, report.frames_with_4) == (5, 18, 3)
    assert report.found >= 16
    # 2 of the 3 frames with 4 people had all 4 before tracks were published only once confirmed
    # (pose_frontend/tracking.py). The person by the bollard is read garbled (not standing) at frames
    # 14-21 and seen in only 6 frames up to frame 29, too few to show his limbs moving; he is
    # published from frame 29 (read standing in frames 28 and 29), so frame 20 finds 3 of its 4.
    assert report.frames_with_4_found >= 1
    # Things taken for people: the garment on the grass and a bollard, and a partly hidden person
    # the count leaves out.
    assert report.extra_skeletons_per_frame <= 3.0


# vtest.avi at 72.4 s (frame 724) and 74.0 s (frame 740): the hip centres of a man in jeans walking
# right, a man in a hoodie walking left and a man in black walking right (who stops and turns at
# 73.3 s). The hoodie passes in front of the man in black at 72.6 s and behind the man in jeans at
# 72.9 s; at 73.0 s the man in jeans's box covers both of them.
CROSSING_HIPS = {
    "jeans": ((501, 251), (591, 268)),
    "hoodie": ((553, 242), (454, 228)),
    "black": ((535, 232), (574, 221)),
}


@pytest.mark.parametrize("first_frame", [660, 690])
def test_three_men_crossing_on_vtest_keep_their_ids(vtest_video: Path, first_frame: int) -> None:
    # The walking profile's last false alert on vtest.avi: the man in jeans's track went on with the
    # hoodie, whose own track was lost behind him, and the man in jeans came back under the hoodie's
    # lost id (from frame 660, as on the whole video); from frame 690 the hoodie's track had gone on
    # with the man in black first, and the three ids went round. A track walking the way of a person
    # lost where they crossed, or a detection where a track would have walked on, gives the crossing
    # tracks back their own people (PersonTracker.crossed).
    frames = islice(video_frames(vtest_video, 741), first_frame, None)
    ids: dict[int, list[tuple[int, np.ndarray]]] = {}
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        for i, (t, rgb) in enumerate(frames, first_frame):
            people = estimator.estimate(rgb, t)
            ids[i] = [(p.track_id, p.landmarks.image[[23, 24], :2].mean(axis=0)) for p in people]

    def id_at(frame: int, hip: tuple[int, int]) -> int | None:
        near = [tid for tid, at in ids[frame] if np.linalg.norm(at - hip) < 12]
        return near[0] if len(near) == 1 else None

    for man, (before, after) in CROSSING_HIPS.items():
        assert id_at(724, before) is not None, man
        assert id_at(740, after) == id_at(724, before), (man, ids[724], ids[740])


def test_a_person_who_leaves_is_retired_after_the_timeout(mp_testdata: Path) -> None:
    [(_, rgb)] = list(ImageFolderSource(mp_testdata / "pose.jpg"))
    empty = np.full_like(rgb, 128)
    with MultiPoseEstimator(PeopleConfig(lost_timeout_s=0.5)) as estimator:
        assert [p.track_id for p in estimator.estimate(rgb, 0.0)] == [1]
        assert estimator.estimate(empty, 0.1) == [] and estimator.retired == []
        assert estimator.estimate(empty, 0.7) == [] and estimator.retired == [1]
        people = []
        for i in range(8, 30):  # back: found when the sweep reaches them, as someone new
            if people := estimator.estimate(rgb, i / 10):
                break
        assert [p.track_id for p in people] == [2]


def test_a_lost_persons_region_is_read_briefly_then_only_a_detection_resumes_them(mp_testdata: Path) -> None:
    # On vtest.avi a track lost for 0.7 s beside a walking pair was resumed on what its coasting
    # region read there: crumpled bodies lying over the pair, published under its id (a false
    # alert). Its region is now read for REGION_RESUME_S only; the detector still brings back
    # someone hidden for a second under their id.
    [(_, rgb)] = list(ImageFolderSource(mp_testdata / "pose.jpg"))
    empty = np.full_like(rgb, 128)
    with MultiPoseEstimator(PeopleConfig(lost_timeout_s=2.0)) as estimator:
        assert [p.track_id for p in estimator.estimate(rgb, 0.0)] == [1]
        passes = []
        for i in range(1, 11):  # a second of nobody: the region is read in the first 0.3 s only
            before = estimator.landmark_passes
            assert estimator.estimate(empty, i / 10) == []
            passes.append(estimator.landmark_passes - before)
        assert passes[:3] == [1, 1, 1] and passes[3:] == [0] * 7
        assert [p.track_id for p in estimator.estimate(rgb, 1.1)] == [1]


def test_people_as_large_as_the_frame_who_appear_late_are_found_at_once(mp_testdata: Path) -> None:
    # three_people.jpg after half a second of an empty scene: the whole frame, the only tile on which
    # the detector sees people this large, came round once in 18 frames of the tile sweep (71 tiles,
    # 4 a frame), so the three were found 12 frames (1.2 s at 10 fps) after they appeared.
    [(_, rgb)] = list(ImageFolderSource(mp_testdata / "three_people.jpg"))
    empty = np.full_like(rgb, 128)
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        config = estimator.config
        tiles = sweep_tiles(rgb.shape[1], rgb.shape[0], config.min_person_height_px)
        assert len(tiles) / config.tiles_per_frame > 10  # a sweep spans many frames
        for i in range(6):
            assert estimator.estimate(empty, i / 10) == []
        counts = [len(estimator.estimate(rgb, i / 10)) for i in range(6, 9)]
    assert counts[-1] == 3, counts


def test_a_person_who_walks_out_of_the_frame_is_not_published_beyond_its_edge(mp_testdata: Path) -> None:
    # pose.jpg's person walking out on the left: once wholly out, their region (half outside the
    # frame) still read a body beyond the edge, published with a box 0 px wide.
    [(_, rgb)] = list(ImageFolderSource(mp_testdata / "pose.jpg"))
    width = rgb.shape[1]
    published = []
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        for step in (0, 4, 8, 10, 12, 13, 14, 15):
            frame = np.full_like(rgb, 128)
            shift = step * width // 20
            frame[:, : width - shift] = rgb[:, shift:]
            published += [p.box for p in estimator.estimate(frame, step / 10)]
    assert len(published) >= 4  # seen while in view
    assert all(box[2] > box[0] and box[3] > box[1] for box in published)


def test_a_frame_with_nobody_gives_nobody_and_a_bad_frame_is_an_estimator_error() -> None:
    with MultiPoseEstimator(PeopleConfig()) as estimator:
        assert estimator.estimate(np.full((360, 480, 3), 128, np.uint8), 0.0) == []
        with pytest.raises(EstimatorError, match="RGB uint8"):
            estimator.estimate(np.zeros((360, 480), np.float32), 0.1)


def test_frontend_publishes_every_tracked_person_with_id_and_box(mp_testdata: Path, tmp_path: Path) -> None:
    source = ImagesSourceConfig(path=str(mp_testdata / "three_people.jpg"), realtime=False)
    config = StreamConfig(id="ward", source=source, estimator=EstimatorConfig(people=PeopleConfig()))
    out = Collect()
    counters = run_stream(config, out, threading.Event(), snapshot_dir=tmp_path)
    [frame] = out.frames
    assert [p.name for p in (tmp_path / "ward").iterdir()] == ["000000000000.jpg"]  # its picture, ringed
    assert counters["published"] == 1 and counters["no_person"] == 0
    assert sorted(p.person_id for p in frame.people) == [1, 2, 3]
    boxes = sorted(p.box for p in frame.people if p.box is not None)
    assert all(0 <= b[0] < b[2] <= 1.05 and 0 <= b[1] < b[3] <= 1.05 for b in boxes)
    assert boxes[0][2] <= boxes[2][0]  # the leftmost and rightmost people's boxes do not overlap
    assert decode(encode(frame)).people[2].box == pytest.approx(frame.people[2].box)


def test_people_beyond_max_people_are_counted_as_refused(mp_testdata: Path) -> None:
    # The third person of three_people.jpg was refused by the tracker and counted nowhere a user
    # looks: the stream's counters said all was well.
    source = ImagesSourceConfig(path=str(mp_testdata / "three_people.jpg"), realtime=False)
    people = EstimatorConfig(people=PeopleConfig(max_people=2))
    out = Collect()
    counters = run_stream(StreamConfig(id="ward", source=source, estimator=people), out, threading.Event())
    assert [len(f.people) for f in out.frames] == [2]
    assert counters["refused"] == 1
