"""The worker's short scale: support cropped from the profile's windows, a threshold of its own."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from edge.profiles import Profile
from edge.scoring import leave_one_clip_out_scores
from edge.short_scale import fuse, kinematic_weight, moment_scores, rank_agreement, short_profile
from evaluation.stream import StreamRun, frame_scores, frames_of, replay
from evaluation.stream_sets import kinder_gator_streams
from models.preprocess import clip_frames, cut_windows, normalise_windows


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory):
    return make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path_factory.mktemp("onnx"))))


@pytest.fixture(scope="module")
def streams(data_root: Path):
    return kinder_gator_streams(str(data_root))


@pytest.fixture(scope="module")
def first(backend, streams):  # -> tuple[LabelledStream, Profile, StreamRun]
    """The set's first stream, its profile (the default calibration) and its replay by the default
    worker, for the tests that only read them."""
    stream, cfg = streams[0], WorkerConfig()
    profile = build_profile("normal", stream.support, backend, calibration=cfg.calibration)
    return stream, profile, replay(stream, profile, backend, cfg)


def test_the_short_scale_has_every_crop_of_the_support_and_its_own_calibrated_threshold(
    backend, first
) -> None:
    calibration = WorkerConfig().calibration
    _, profile, _ = first
    short = short_profile(profile, backend, calibration, 1.0)
    crops = len(short.embeddings) // len(profile.embeddings)
    assert crops == 9 and len(short.embeddings) == crops * len(profile.embeddings)  # 20 of 60 frames, every 5
    np.testing.assert_array_equal(short.groups, np.repeat(profile.groups, crops))  # left out with their clip
    kappa = backend.calibration_prior.at_scale(1.0).kappa(calibration.target_far)
    assert short.meta["calibration"]["prior_kappa"] == pytest.approx(kappa)
    assert short.threshold >= kappa != pytest.approx(profile.meta["calibration"]["prior_kappa"])


def test_a_window_is_as_hot_as_its_hotter_scale_in_units_of_the_full_threshold() -> None:
    full, short = np.array([[0.5], [2.0]], np.float32), np.array([[3.0], [1.0]], np.float32)
    fused = fuse(full, short, np.array([1.0], np.float32), np.array([2.0], np.float32))
    np.testing.assert_allclose(fused, [[1.5], [2.0]])


def test_a_moment_scores_high_only_where_both_scales_do_and_on_windows_alone_before_any_crop() -> None:
    windows = np.array([4.0, 4.0, 0.25, 2.0])
    crops = np.array([1.0, 0.25, 4.0, np.nan])
    np.testing.assert_allclose(moment_scores(windows, crops), [2.0, 1.0, 1.0, 2.0])


def test_a_moment_counts_the_kinematic_score_by_its_weight_and_only_where_a_crop_covers_it() -> None:
    windows, crops, kinematic = (
        np.array([1.0, 1.0, 4.0]),
        np.array([1.0, 1.0, np.nan]),
        np.array([8.0, 1.0, 16.0]),
    )
    np.testing.assert_allclose(moment_scores(windows, crops, kinematic, 0.0), moment_scores(windows, crops))
    np.testing.assert_allclose(moment_scores(windows, crops, kinematic, 1.0), [2.0, 1.0, 4.0])
    np.testing.assert_allclose(moment_scores(windows, crops, kinematic, 0.5), [8.0 ** (0.5 / 2.5), 1.0, 4.0])


def _line_profile(x: list[float]) -> Profile:
    """One support row per clip on a line: a row's leave-one-clip-out score grows with its distance
    from the others' mean."""
    emb = np.column_stack([np.asarray(x, np.float32), np.zeros(len(x), np.float32)])
    return Profile("p", 0, emb, np.arange(len(x)), np.zeros((len(x), 60, 20, 3), np.float32), 1.0, {})


def test_the_kinematic_weight_is_the_scorers_agreement_on_the_support_at_least_the_floor() -> None:
    encoder = _line_profile([-9, -4, -1, 2, 5, 7])  # far from the rest: clip 0, then 5, 4, 1, 3, 2
    same = _line_profile([-18, -8, -2, 4, 10, 14])
    reversed_ = _line_profile([1, -5, 9, -7, 4, -2])  # clip 2 the farthest, clip 0 the nearest
    loo = [leave_one_clip_out_scores(p.embeddings, p.groups) for p in (encoder, reversed_)]
    assert rank_agreement(*loo) == pytest.approx(-1.0)
    assert kinematic_weight(encoder, same) == pytest.approx(1.0)
    assert kinematic_weight(encoder, reversed_) == 0.0
    assert kinematic_weight(encoder, same, 0.5) == pytest.approx(1.0)
    assert kinematic_weight(encoder, reversed_, 0.5) == 0.5  # disagreement or noise: the floor
    one_clip = replace(encoder, groups=np.zeros(6, np.int64))
    assert kinematic_weight(one_clip, one_clip, 0.5) == 0.5  # nothing left out to rank
    assert rank_agreement(np.ones(4), np.arange(4.0)) == 0.0


def test_the_eval_scores_every_crop_kinematically_beside_the_encoder_without_changing_alerts(
    backend, first
) -> None:
    cfg = WorkerConfig()
    stream, profile, on = first
    assert Pipeline(cfg, backend, [profile]).kinematic_scorer is None  # the daemon's: nothing live reads it
    off = replay(stream, profile, backend, cfg.model_copy(update={"kinematic_fusion": False}))
    assert len(on.kinematic) == len(on.crops) > 0 and cfg.kinematic_floor <= on.kinematic_weight <= 1.0
    full = cfg.model_copy(update={"kinematic_floor": 1.0})
    assert Pipeline(full, backend, [profile], kinematic=True).kinematic_weights.tolist() == [1.0]
    assert [k[:2] for k in on.kinematic] == [c[:2] for c in on.crops]  # the very same crops
    assert off.kinematic == [] and off.kinematic_weight == 0.0
    assert [e.episode.action_span for e in on.opened + on.closed] == [
        e.episode.action_span for e in off.opened + off.closed
    ]
    np.testing.assert_allclose([s for *_, s in on.windows], [s for *_, s in off.windows])
    raw = RawDctBackend(backend.spec)  # the raw-DCT scorer is its own kinematic score: no second one
    raw_run = replay(
        stream, build_profile("normal", stream.support, raw, calibration=cfg.calibration), raw, cfg
    )
    assert raw_run.kinematic == [] and raw_run.crops


def test_an_alerts_timeline_puts_a_score_its_crop_decided_at_the_crops_middle(
    first,
) -> None:
    """Where a window's last second made its score, the stored timeline has the score at that
    second's middle (the playback cursor meets the peak with the action), else at the window's."""
    cfg = WorkerConfig()
    _, profile, run = first
    (episode,) = [e.episode for e in run.closed]
    line = np.array(episode.timeline)
    decided = 0
    for (t0, t1, fused), (_, _, crop), (_, _, own) in zip(run.windows, run.crops, run.full, strict=True):
        if not (episode.start <= t0 and t1 <= episode.end):
            continue
        t = t1 - cfg.short_window_s / 2 if crop > own else (t0 + t1) / 2
        at_t = line[np.isclose(line[:, 0], t, rtol=0, atol=1e-9), 1]
        assert np.isclose(at_t, fused * profile.threshold, rtol=1e-5).any()
        decided += crop > own
    assert decided > 0
    assert np.all(np.diff(line[:, 0]) >= 0)


def test_with_several_profiles_the_timeline_follows_the_scale_that_decided_the_smallest_ratio(
    backend, streams, first
) -> None:
    """A stream normal for either of two profiles is scored by its smaller ratio; the moment that
    score is about is the one of the scale that decided that profile's fused score."""
    stream, other = streams[0], next(s for s in streams if s.normal_label != streams[0].normal_label)
    cfg = WorkerConfig()
    profiles = [
        replace(first[1], name="a"),
        build_profile("b", other.support, backend, calibration=cfg.calibration),
    ]
    pipeline = Pipeline(cfg, backend, profiles, clock=lambda: 0.0)
    batches = []
    for i, frame in enumerate(frames_of(stream)):
        pipeline.push(frame)
        if i % 64 == 63:
            batches += pipeline.run_due(flush=True)
    pipeline.finish_streams()
    batches += pipeline.run_due(flush=True)
    closed = [e.episode for b in batches for e in b.events if e.kind == "closed"]
    closed += [e.episode for e in pipeline.close_all() if e.kind == "closed"]
    assert closed and all(ep.profile == "a+b" for ep in closed)
    thresholds = pipeline.scorer.thresholds
    decided = checked = 0
    for b in (b for b in batches if b.windows):
        assert b.crops is not None and b.full is not None
        for w, scores, crops, full in zip(b.windows, b.scores, b.crops, b.full, strict=True):
            ep = next((e for e in closed if e.start <= w.t_start and w.t_end <= e.end), None)
            if ep is None:
                continue
            ratios = scores / thresholds
            p = int(np.argmin(ratios))
            by_crop = crops[p] > full[p]
            t = w.t_end - cfg.short_window_s / 2 if by_crop else (w.t_start + w.t_end) / 2
            line = np.array(ep.timeline)
            assert np.isclose(
                line[np.isclose(line[:, 0], t, rtol=0, atol=1e-9), 1], ratios[p], rtol=1e-5
            ).any()
            decided += by_crop
            checked += 1
    assert checked > decided > 0


def test_a_frames_score_leans_to_the_span_centred_on_it() -> None:
    run = StreamRun(windows=[(0.0, 2.0, 1.0), (1.0, 3.0, 3.0)], opened=[], closed=[])
    t, s = frame_scores(run, 2.0)
    np.testing.assert_allclose(t, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(s, [1.0, 1.0, 1.15 / 1.05, 2.0, 3.05 / 1.05, 3.0])


def test_a_moments_score_takes_the_windows_own_score_not_the_one_fused_with_their_crop() -> None:
    """A quiet 3 s window whose last second is hot is stored hot (fused), but the moments it covers
    count its own, quiet score: the crop covering them already counts the hot second."""
    run = StreamRun(
        windows=[(0.0, 3.0, 4.0)], opened=[], closed=[], crops=[(2.0, 3.0, 4.0)], full=[(0.0, 3.0, 0.25)]
    )
    t, s = frame_scores(run, 2.0)
    np.testing.assert_allclose(t, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(s, [0.25, 0.25, 0.25, 0.25, 1.0, 1.0])


def test_a_cameras_overlay_of_marked_windows_silences_the_action_at_both_scales(backend, streams) -> None:
    """Windows marked normal for one camera (its overlay, edge/overlays.py) are cropped like the
    profile's support: marked at 3 s but not at 1 s, the action would still alert."""
    stream = next(s for s in streams if s.name == "kg:934:Walk-in-place->Throw-a-ball-")
    cfg = WorkerConfig()
    profile = build_profile("normal", stream.support, backend, calibration=cfg.calibration)
    ((a0, a1),), rec = stream.abnormal, stream.recording
    keep = (rec.times >= a0 - 2) & (rec.times <= a1 + 2)
    frames = clip_frames(rec.joints[keep], rec.times[keep], backend.spec)
    marked = normalise_windows(cut_windows(frames, replace(backend.spec, clip_stride=5)), backend.spec)
    overlay = replace(
        profile, windows=marked, embeddings=backend.embed(marked), behaviours=None, generated=None
    )
    before = replay(stream, profile, backend, cfg)
    after = replay(
        stream, profile, backend, cfg, make_pipeline=partial(Pipeline, extra={("eval", "normal"): overlay})
    )
    assert len(before.opened) == 1 and after.opened == []
    assert max(r for *_, r in after.crops) < 1.0
