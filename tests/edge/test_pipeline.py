"""The worker's scoring path on real recordings: windows -> encoder -> scores -> episodes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from bus.messages import MAX_PEOPLE, PersonSkeleton, SkeletonFrame, Watched
from clips import Clip
from config.backend import OnnxRuntimeConfig
from config.worker import EpisodeConfig, WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import MAX_PEOPLE_PER_STREAM, Pipeline
from evaluation.person_mix import Replayed, mix_people, side_by_side_box
from evaluation.stream import replay, run_stream_eval
from evaluation.stream_sets import kinder_gator_streams


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory):
    return make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path_factory.mktemp("onnx"))))


@pytest.fixture(scope="module")
def streams(data_root: Path):
    return kinder_gator_streams(str(data_root))


@pytest.fixture(scope="module")
def profile_of(backend):  # -> Callable[[tuple[Clip, ...], str], Profile]
    """``profile_of(clips, name="normal")``: the default-calibrated profile of ``clips``, built once
    per clips and name (most tests enrol the same stream's support; they only read the profile)."""
    built = {}

    def profile(clips: tuple[Clip, ...], name: str = "normal"):  # type: ignore[no-untyped-def]
        key = (clips, name)  # Clips compare by identity: the module's streams' own
        if key not in built:
            built[key] = build_profile(name, clips, backend, calibration=WorkerConfig().calibration)
        return built[key]

    return profile


def _frames(joints: np.ndarray, times: np.ndarray, stream: str):
    vis = np.ones(20, np.float32)
    return [
        SkeletonFrame(stream, i, float(t), j, vis, time.time())
        for i, (j, t) in enumerate(zip(joints, times, strict=True))
    ]


def test_unseen_abnormal_motion_gives_exactly_one_alert_covering_it(backend, profile_of, streams) -> None:
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    run = replay(stream, profile_of(stream.support), backend, WorkerConfig())
    ((a0, a1),) = stream.abnormal
    assert len(run.closed) == 1
    episode = run.closed[0].episode
    assert episode.start < a1 and episode.end > a0  # it covers the abnormal part
    normal_windows = [s for t0, t1, s in run.windows if t1 < a0 - 0.5 or t0 > a1 + 0.5]
    assert np.median(normal_windows) < 1.0  # normal parts stay below the threshold (scores / threshold)


def test_with_the_short_scale_an_alert_opens_sooner_and_spans_the_action_within_half_a_second(
    backend, profile_of, streams
) -> None:
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    ((a0, a1),) = stream.abnormal
    runs = {}
    for seconds in (0.0, 1.0):
        cfg = WorkerConfig(short_window_s=seconds)
        runs[seconds] = replay(stream, profile_of(stream.support), backend, cfg)
    (whole,), (short,) = runs[0.0].closed, runs[1.0].closed
    assert runs[1.0].opened[0].episode.end < runs[0.0].opened[0].episode.end
    start, end = short.episode.action_span
    assert abs(start - a0) < 0.5 and abs(end - a1) < 0.5
    assert abs(whole.episode.action_span[1] - a1) > 1.0  # 3-second windows alone end it far off
    assert len(runs[1.0].crops) == len(runs[1.0].windows) and not runs[0.0].crops


def test_normal_only_stream_raises_no_alert(backend, profile_of, streams) -> None:
    stream = next(s for s in streams if s.normal_label == "Walk-in-place")
    n0, n1 = stream.normal[0]
    keep = (stream.recording.times >= n0) & (stream.recording.times <= n1)
    pipeline = Pipeline(WorkerConfig(), backend, [profile_of(stream.support)])
    events = []
    for f in _frames(stream.recording.joints[keep], stream.recording.times[keep], "cam1"):
        pipeline.push(f)
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    events += pipeline.close_all()
    assert pipeline.stats.windows_scored >= 5 and events == []


def test_stream_is_scored_only_against_its_profiles(backend, profile_of, streams) -> None:
    a, b = streams[0], streams[1]
    profiles = [profile_of(a.support, "pa"), profile_of(b.support, "pb")]
    pipeline = Pipeline(WorkerConfig(), backend, profiles, stream_profiles={"cam1": ["pb"]})
    for f in _frames(a.recording.joints, a.recording.times, "cam1"):
        pipeline.push(f)
        for batch in pipeline.run_due(flush=True):
            for e in batch.events:
                assert e.episode.profile == "pb"
    closed = pipeline.close_all()
    assert all(e.episode.profile == "pb" for e in closed)


@pytest.mark.parametrize(
    "silent_s,back_after_s",
    [(0.0, 5.0), (10.0, 5.0), (10.0, 0.0), (70.0, None)],
    ids=["gap", "silent-then-gap", "silent-then-where-it-stopped", "gone"],
)
def test_a_gap_or_a_wall_clock_silence_leaves_the_open_episode_open_a_stream_gone_closes_it(
    backend, profile_of, streams, silent_s: float, back_after_s: float | None
) -> None:
    # The stream stops in the middle of the abnormal part; it sends nothing for silent_s (wall clock,
    # over stale_after_s: a frontend being restarted) and comes back back_after_s later in source time
    # (None: never). A replayed recording going on where it stopped is one segment and one alert; a
    # hole (frames lost) ends the segment, and the alert waits for the person's next windows
    # (tests/edge/interrupted/test_stream_hole.py). A stream that never comes back has it closed resume_within_s
    # after its last frame.
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    ((a0, a1),) = stream.abnormal
    cut = stream.recording.times <= (a0 + a1) / 2
    now = [0.0]
    pipeline = Pipeline(WorkerConfig(), backend, [profile_of(stream.support)], clock=lambda: now[0])
    rec = stream.recording
    frames = _frames(rec.joints[cut], rec.times[cut], "cam1")
    later = (
        []
        if back_after_s is None
        else _frames(rec.joints[~cut][:40], rec.times[~cut][:40] + back_after_s, "cam1")
    )
    events, scored = [], []
    for i, f in enumerate(frames + later):
        if i == len(frames) and silent_s:
            now[0] += silent_s
            pipeline.reset_stale()
        pipeline.push(SkeletonFrame("cam1", i, f.timestamp, f.joints, f.visibility))
        for b in pipeline.run_due(flush=True):
            events += b.events
            scored += [(w.segment, w.t_end) for w in b.windows]
    if back_after_s is None:  # the worker's housekeeping while it stays silent
        now[0] = 10.0
        pipeline.reset_stale()
        assert [e for b in pipeline.run_due(flush=True) for e in b.events] == []  # still open
        now[0] = silent_s
        pipeline.reset_stale()
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    kinds = [(e.kind, e.close_reason) for e in events if e.kind != "updated"]
    if back_after_s == 0.0:
        assert kinds == [("opened", None)] and {s for s, _ in scored} == {1}
        assert len(set(scored)) == len(scored)  # no window scored twice
    elif back_after_s is not None:  # 2 s back: no window of the new segment yet
        assert kinds == [("opened", None)] and pipeline.tracker.open_episodes() == [
            (Watched("cam1"), "normal")
        ]
    else:
        assert kinds == [("opened", None), ("closed", "reset")]


def _cut(stream, a: float, b: float, shift: float = 0.0) -> list[tuple[float, np.ndarray]]:
    rec = stream.recording
    keep = (rec.times >= a) & (rec.times <= b)
    return [(float(t) + shift, j) for t, j in zip(rec.times[keep], rec.joints[keep], strict=True)]


@pytest.mark.parametrize("part", ["abnormal", "normal"])
def test_a_short_segment_between_gaps_is_scored_and_alerts_only_when_abnormal(
    backend, profile_of, streams, part: str
) -> None:
    """A person walks, leaves, comes back for 1.5 s (throwing a ball, or walking), leaves, walks."""
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    ((a0, a1),), (first, second) = stream.abnormal, stream.normal
    middle = (a0 + a1) / 2 if part == "abnormal" else (first[0] + first[1]) / 2
    short = _cut(stream, middle - 0.75, middle + 0.75, shift=second[0] - middle - 2.0)
    parts = _cut(stream, *first) + short + _cut(stream, *second)
    vis = np.ones(20, np.float32)
    pipeline = Pipeline(WorkerConfig(), backend, [profile_of(stream.support)])
    scored, events = [], []
    for i, (t, j) in enumerate(parts):
        pipeline.push(SkeletonFrame("cam1", i, t, j, vis, time.time()))
        for b in pipeline.run_due(flush=True):
            scored += [(w, float(x)) for w, x in zip(b.windows, b.scores[:, 0], strict=True)]
            events += b.events
    events += pipeline.close_all()
    short_windows = [(w, x) for w, x in scored if w.segment_frames is not None]
    assert [w.segment_frames for w, _ in short_windows] == [20, 25, 30]
    assert {w.segment for w, _ in short_windows} == {2}  # the middle one of three segments
    assert pipeline.windows[Watched("cam1")].segments == {"full": 2, "short": 1}
    assert pipeline.stats.short_windows == 3
    alerts = [e.episode for e in events if e.kind == "closed"]
    if part == "abnormal":
        assert [(a.start, a.end) for a in alerts] == [(short[0][0], pytest.approx(short[0][0] + 29 / 20))]
    else:
        assert alerts == [] and all(x < _threshold(pipeline) for _, x in short_windows)


def test_a_segment_too_short_for_k_of_n_alerts_after_earlier_resets_as_after_none(
    backend, profile_of, streams
) -> None:
    """Every segment's end reaches the episodes, however many resets came before and however often
    the worker scores (here after every frame): a 1.25 s abnormal segment gives two windows, too few for
    3-of-5, so only its end can open its alert (a lost reset left it silent)."""
    cfg = WorkerConfig(episodes=EpisodeConfig(open_k=3, open_n=5), short_window_s=0.0)
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    ((a0, a1),), (first, second) = stream.abnormal, stream.normal
    middle = (a0 + a1) / 2
    short = _cut(stream, middle - 0.6, middle + 0.6, shift=second[0] - middle - 2.0)
    walk = _cut(stream, first[0], first[0] + 1.4, shift=short[0][0] - first[0] - 3.0)  # its own segment
    parts = _cut(stream, first[0], walk[0][0] - 1.5) + walk + short + _cut(stream, *second)
    vis = np.ones(20, np.float32)
    pipeline = Pipeline(cfg, backend, [profile_of(stream.support)])
    events = []
    for i, (t, j) in enumerate(parts):
        pipeline.push(SkeletonFrame("cam1", i, t, j, vis, time.time()))
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    events += pipeline.close_all()
    assert pipeline.windows[Watched("cam1")].segments == {"full": 2, "short": 2}
    # closed by the cool walk's windows after the gap that ended it (a hole: edge/episodes.py)
    assert [(e.episode.start, e.close_reason) for e in events if e.kind == "closed"] == [
        (short[0][0], "cold")
    ]


def _threshold(pipeline: Pipeline) -> float:
    assert pipeline.scorer is not None
    return float(pipeline.scorer.thresholds[0])


def test_removing_a_profile_closes_its_episodes(backend, profile_of, streams) -> None:
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    ((a0, a1),) = stream.abnormal
    profile = profile_of(stream.support)
    pipeline = Pipeline(WorkerConfig(), backend, [profile])
    keep = stream.recording.times <= a1
    for f in _frames(stream.recording.joints[keep], stream.recording.times[keep], "cam1"):
        pipeline.push(f)
        pipeline.run_due(flush=True)
    assert pipeline.tracker.open_episodes() == [(Watched("cam1"), "normal")]
    closed = pipeline.set_profiles([])
    assert [e.kind for e in closed] == ["closed"] and pipeline.tracker.open_episodes() == []


def test_stream_eval_reports_frame_and_alert_figures(backend, data_root: Path, tmp_path: Path) -> None:
    summary = run_stream_eval("kinder-gator", backend, WorkerConfig(), data_root=str(data_root), out=tmp_path)
    assert summary["streams"] == 30
    assert summary["frame_auc_mean"] > 0.9
    assert summary["alert_recall"] > 0.7 and summary["alert_precision"] > 0.7
    assert (tmp_path / "stream_kinder-gator.json").is_file()
    bins = {b["abnormal_share"]: b for b in summary["windows_by_abnormal_share"]}
    # windows wholly inside normal parts score lower than windows wholly inside abnormal ones
    assert bins["0"]["median_score"] < 1.0 < bins["1"]["median_score"]
    assert bins["0"]["over_threshold"] < 0.2 < 0.5 < bins["1"]["over_threshold"]
    assert all(bins[q]["windows"] > 0 for q in ("0-0.25", "0.25-0.5", "0.5-0.75", "0.75-1"))
    # the realised false-alarm rate (windows wholly inside normal parts) beside the calibrated target
    far = summary["false_alarm_rate"]
    assert far["target"] == WorkerConfig().calibration.target_far and 0.0 <= far["realised"] < 0.2
    assert far["normal_windows"] > 500 and far["false_alerts_per_normal_hour"] is not None
    silent = [p["stream"] for p in summary["per_stream"] if not p["any_alert"] and p["abnormal_parts"]]
    assert len(silent) == summary["streams_with_abnormal_parts_without_alert"] <= 6


def test_windows_are_binned_by_their_abnormal_share_of_labelled_time() -> None:
    from evaluation.stream import StreamRun, abnormal_shares, share_table
    from evaluation.stream_sets import LabelledStream

    # normal 0-10 s, a 0.5 s unlabelled blend, abnormal 10.5-20 s
    stream = LabelledStream(
        "s", Clip(np.zeros((1, 20, 3)), np.zeros(1)), "n", ((10.5, 20.0),), ((0.0, 10.0),), ()
    )
    windows = [
        (0.0, 3.0, 0.5),
        (9.0, 12.0, 0.9),  # 1 s normal, 1.5 s abnormal: share 0.6
        (8.0, 11.0, 3.0),  # 2 s normal, 0.5 s abnormal: share 0.2
        (7.5, 10.5, 0.7),  # 2.5 s normal, the blend: share 0
        (10.1, 10.4, 9.0),  # inside the blend: left out
        (10.0, 11.0, 1.0),  # 0.5 s blend, 0.5 s abnormal: under 75 % labelled, left out
        (15.0, 18.0, 1.5),
    ]
    shares = abnormal_shares(StreamRun(windows, [], []), stream)
    np.testing.assert_allclose(shares, [[0.0, 0.5], [0.6, 0.9], [0.2, 3.0], [0.0, 0.7], [1.0, 1.5]])
    table = {b["abnormal_share"]: b for b in share_table(shares)}
    assert table["0"]["windows"] == 2 and table["0"]["over_threshold"] == 0.0
    assert table["0-0.25"]["over_threshold"] == 1.0
    assert table["0.5-0.75"]["windows"] == 1 and table["0.5-0.75"]["median_score"] == 0.9
    assert table["1"]["windows"] == 1 and table["1"]["median_score"] == 1.5
    assert table["0.75-1"]["windows"] == 0 and table["0.75-1"]["median_score"] is None


def test_each_normal_behaviour_gets_its_own_profile_on_utkinect(backend, data_root: Path) -> None:
    from evaluation.stream import evaluate_streams
    from evaluation.stream_sets import utkinect_streams

    streams = utkinect_streams(str(data_root))[:20]  # two recordings, every action as "normal" in turn
    summary = evaluate_streams(streams, backend, WorkerConfig())
    assert len({s.normal_label for s in streams}) == 10
    assert summary["frame_auc_mean"] > 0.75


@pytest.mark.parametrize("gap", ["end", "middle"])
def test_enrolment_with_augmentation_adds_completions_to_their_source_clips(
    backend, streams, tiny_humanmac, gap: str
) -> None:
    from config.completions import CompletionSettings
    from edge.enroll import Augmentation

    stream = streams[0]
    clips = stream.support
    # The clips' own estimate (the encoder's prior, a fixed distance, would hide what completions change).
    clips_alone = WorkerConfig().calibration.model_copy(update={"prior": False})
    plain = build_profile("normal", clips, backend, calibration=clips_alone)
    augmented = build_profile(
        "normal", clips, backend, calibration=clips_alone,
        augmentation=Augmentation(tiny_humanmac, CompletionSettings(n_g=2, observed=40, gap=gap, steps=2)),  # type: ignore[arg-type]
    )  # fmt: skip
    real = len(plain.embeddings)
    assert len(augmented.embeddings) == 3 * real  # N_s windows -> N_s·(1 + N_g)
    np.testing.assert_allclose(augmented.embeddings[:real], plain.embeddings, atol=1e-5)
    assert augmented.meta["augmentation"]["gap"] == gap and augmented.meta["augmentation"]["observed"] == 40
    # every completion belongs to its source window's clip, so leave-one-clip-out holds it out too
    assert sorted(set(augmented.groups[real:].tolist())) == sorted(set(plain.groups.tolist()))
    assert np.isfinite(augmented.threshold) and augmented.threshold != plain.threshold


def test_two_people_in_one_stream_are_scored_apart_and_the_one_who_leaves_ends_cleanly(
    backend, profile_of, streams
) -> None:
    # Person 1 walks in place, then throws a ball; person 2 walks in place beside them and leaves
    # half way through. Both are scored in the same batches; only person 1 is alerted.
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    rec = stream.recording
    n0, n1 = stream.normal[0]
    walk = (rec.times >= n0) & (rec.times <= n1)
    half = (rec.times[-1] - rec.times[0]) / 2
    walker_times = rec.times[walk] - rec.times[walk][0]
    keep = walker_times <= half
    people = [
        Replayed(1, rec.joints, rec.times - rec.times[0]),
        Replayed(2, rec.joints[walk][keep], walker_times[keep]),
    ]
    pipeline = Pipeline(WorkerConfig(), backend, [profile_of(stream.support)])
    batches = []
    for f in mix_people(people, "cam1"):
        pipeline.push(f)
        batches += pipeline.run_due(flush=True)
    assert Watched("cam1", 2) not in pipeline.windows  # left, their window retired
    events = [e for b in batches for e in b.events] + pipeline.close_all()
    assert any({w.person for w in b.windows} == {1, 2} for b in batches)
    alerted = {e.episode.who for e in events if e.kind == "opened"}
    assert alerted == {Watched("cam1", 1)}
    closed = [e.episode for e in events if e.kind == "closed"]
    assert closed and all(ep.box == side_by_side_box(0, 2) for ep in closed)
    # Who else was in view when a window of person 1 was completed: person 2 until they left.
    left = people[1].end
    assert all(ep.others == () for ep in closed if ep.peak_t_end > left + 0.5)
    first = [w for b in batches for w in b.windows if w.person == 1]
    assert all(w.others == ((2, side_by_side_box(1, 2)),) for w in first if w.t_end < left - 0.1)
    assert all(w.others == () for w in first if w.t_end > left + 0.1)
    assert pipeline.windows[Watched("cam1", 1)].segments["full"] >= 1


def test_person_0_frames_feed_person_0_window_before_between_and_after_tracked_people(backend) -> None:
    """Frames of a single-person frontend take a shortcut to their stream's person-0 window; frames
    of tracked people go the long way. A stream that changes from one to the other and back keeps
    feeding the same person-0 window, and a tracked person who left is retired."""
    rng = np.random.default_rng(2)
    pose, vis = rng.normal(size=(20, 3)).astype(np.float32), np.ones(20, np.float32)
    pipeline = Pipeline(WorkerConfig(max_gap_s=0.2), backend, [])
    seq = iter(range(1000))

    def push(t: float, person_id: int = 0, others: tuple = ()) -> None:
        pipeline.push(SkeletonFrame("cam1", next(seq), t, pose + t, vis, 0.0, person_id, None, others))

    for k in range(20):
        push(k / 30)
    first = pipeline.windows[Watched("cam1", 0)]
    for k in range(20, 40):  # person 0 with person 3 beside them (a multi-person frontend)
        push(k / 30, 0, (PersonSkeleton(3, pose, vis),))
    assert set(pipeline.windows) == {Watched("cam1", 0), Watched("cam1", 3)}
    for k in range(40, 60):  # person 3 left: their segment ends, their window is retired
        push(k / 30)
    assert set(pipeline.windows) == {Watched("cam1", 0)}
    assert pipeline.windows[Watched("cam1", 0)] is first
    assert first.segment == 1 and first.segment_s == pytest.approx(59 / 30, abs=0.06)


def test_people_who_came_and_went_leave_nothing_behind_and_an_id_that_returns_is_still_alerted(
    backend, profile_of, streams
) -> None:
    # Each person who left kept two entries (their last segment, in the pipeline and in the episode
    # tracker) for the worker's lifetime: about 700 bytes a person, unbounded on a busy camera.
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    rec = stream.recording
    n0, n1 = stream.normal[0]
    walk = (rec.times >= n0) & (rec.times <= n0 + 2.0)
    pipeline = Pipeline(WorkerConfig(), backend, [profile_of(stream.support)])
    events = []
    start = 0.0
    for person in [*range(1, 101), 7]:  # a hundred passers-by, then person 7 again, who throws a ball
        joints, times = (
            (rec.joints, rec.times) if start > 100 and person == 7 else (rec.joints[walk], rec.times[walk])
        )
        replayed = Replayed(person, joints, times, start)
        for f in mix_people([replayed], "cam1"):
            pipeline.push(f)
            events += [e for b in pipeline.run_due(flush=True) for e in b.events]
        start = replayed.end + 1.0  # a second of nobody: the person left
        pipeline.push(SkeletonFrame.of_people("cam1", 0, start - 0.5, ()))
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    events += pipeline.close_all()
    assert pipeline.retired == {} and set(pipeline.tracker._ended) <= {Watched("cam1", 7)}
    assert {e.episode.who for e in events if e.kind == "opened"} == {Watched("cam1", 7)}


def test_a_stream_whose_clock_stands_still_while_its_people_change_holds_a_bounded_number_of_windows(
    backend,
) -> None:
    # Every frame at the same time, with 32 new person ids: no window ever ended (no source time
    # passed), so each frame added 32 windows and walked all the earlier ones (memory without end,
    # and a worker slower with every frame). A good stream beside it is scored as before.
    pose, vis = np.random.default_rng(3).normal(size=(20, 3)).astype(np.float32), np.ones(20, np.float32)
    pipeline = Pipeline(WorkerConfig(), backend, [])
    frames = 30
    for k in range(frames):
        people = tuple(PersonSkeleton(k * MAX_PEOPLE + i + 1, pose, vis) for i in range(MAX_PEOPLE))
        pipeline.push(SkeletonFrame.of_people("junk", k, 1.0, people, 0.0))
        pipeline.push(SkeletonFrame("good", k, k / 20, pose + k / 100, vis, 0.0))
    junk = [w for w in pipeline.windows if w.stream_id == "junk"]
    assert len(junk) == MAX_PEOPLE_PER_STREAM
    assert pipeline.people_refused == frames * MAX_PEOPLE - MAX_PEOPLE_PER_STREAM
    good = pipeline.windows[Watched("good", 0)]
    assert good.active and good.last_t == pytest.approx((frames - 1) / 20)


def test_the_windows_scored_of_people_who_left_are_not_kept(backend) -> None:
    # Each person who left kept their count of scored windows for the worker's lifetime: one entry
    # a person, without end on a camera that sees people by the thousand.
    pose, vis = np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32), np.ones(20, np.float32)
    pipeline = Pipeline(WorkerConfig(), backend, [])
    seq = iter(range(10_000))
    t = iter(np.arange(10_000) / 20)
    for person in range(1, 11):  # each in view 3.5 s, then a second of nobody
        for k in range(70):
            pipeline.push(SkeletonFrame("cam", next(seq), next(t), pose + k / 100, vis, 0.0, person))
            pipeline.run_due(flush=True)
        for _ in range(20):
            pipeline.push(SkeletonFrame.of_people("cam", next(seq), next(t), (), 0.0))
            pipeline.run_due(flush=True)
    assert pipeline.stats.windows_scored >= 10 * 3
    assert set(pipeline.stats.windows) <= set(pipeline.windows) == {Watched("cam", 0)}
