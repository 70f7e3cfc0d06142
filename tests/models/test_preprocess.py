"""The shared preprocessing: DCT, resampling, gap filling, the clip -> windows rule, normalisation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models import skeleton
from models.dct import dct, dct_matrix, idct
from models.preprocess import (
    ClipError,
    WindowSpec,
    clip_frames,
    clip_to_windows,
    crop_windows,
    cut_windows,
    fill_gaps,
    interpolate_at,
    normalise_windows,
    resample,
    retime,
)
from models.skeleton import J
from training.datasets import load_dataset

SPEC = WindowSpec()


def test_dct_round_trip_is_exact_with_all_bases() -> None:
    x = np.random.default_rng(0).normal(size=(4, 60, 60))
    np.testing.assert_allclose(idct(dct(x), 60), x, atol=1e-10)
    t = dct_matrix(60)
    np.testing.assert_allclose(t @ t.T, np.eye(60), atol=1e-12)


def test_ten_low_frequencies_keep_real_motion(data_root: Path) -> None:
    clip = load_dataset("msr", data_root).clips[0]
    w = clip_to_windows(clip.joints, clip.times, SPEC)[0].reshape(60, -1).astype(np.float64)
    rec = idct(dct(w, 10), 60)
    rel = np.linalg.norm(rec - w) / np.linalg.norm(w)
    assert rel < 0.1  # low-pass keeps the motion, drops jitter


def test_resample_recovers_linear_motion_on_irregular_timestamps() -> None:
    times = np.array([0.0, 0.03, 0.1, 0.12, 0.31, 0.5])
    joints = np.zeros((6, 20, 3), dtype=np.float32)
    joints[:, :, 0] = (2.0 * times)[:, None]
    out = resample(joints, times, fps=20.0)
    assert out.shape == (11, 20, 3)
    np.testing.assert_allclose(out[:, 0, 0], 2.0 * np.arange(11) / 20.0, atol=1e-6)


def test_interpolate_at_is_the_vectorised_rule_bit_for_bit_on_arrays_and_lists() -> None:
    """Neighbours by bisection and weights in Python (a few grid points per live window) give what a
    vectorised search gives, to the bit: the worker's windows and every clip's frames are unchanged."""
    rng = np.random.default_rng(5)
    times = np.cumsum(rng.uniform(0.02, 0.045, 40))
    joints = rng.normal(size=(40, 20, 3)).astype(np.float32)
    grid = np.concatenate([[times[0] - 0.1], times[0] + np.arange(30) / 20.0, [times[-1] + 0.2]])
    right = np.minimum(np.maximum(np.searchsorted(times, grid, side="right"), 1), len(times) - 1)
    left = right - 1
    w = np.clip((grid - times[left]) / (times[right] - times[left]), 0.0, 1.0)[:, None, None]
    expected = ((1.0 - w) * joints[left] + w * joints[right]).astype(np.float32)
    np.testing.assert_array_equal(interpolate_at(joints, times, grid), expected)
    np.testing.assert_array_equal(interpolate_at(list(joints), times.tolist(), grid.tolist()), expected)
    assert interpolate_at(joints, times, grid[:0]).shape == (0, 20, 3)


def test_fill_gaps_bridges_short_gaps_only() -> None:
    times = np.arange(40) / 20.0
    joints = np.tile(times[:, None, None], (1, 20, 3)).astype(np.float32)
    joints[5:8, 3] = np.nan  # 0.2 s gap on one joint
    joints[20:35, 4] = np.nan  # 0.8 s gap
    filled, valid = fill_gaps(joints, times, max_gap_s=0.5)
    np.testing.assert_allclose(filled[5:8, 3, 0], times[5:8], atol=1e-6)
    assert not valid[20:35].any() and valid[:20].all() and valid[35:].all()


def test_short_clip_is_centred_and_held(data_root: Path) -> None:
    frames = np.random.default_rng(1).normal(size=(20, 20, 3)).astype(np.float32)
    w = cut_windows(frames, SPEC)
    assert w.shape == (1, 60, 20, 3)
    np.testing.assert_array_equal(w[0, 20:40], frames)
    np.testing.assert_array_equal(w[0, :20], np.repeat(frames[:1], 20, axis=0))
    np.testing.assert_array_equal(w[0, 40:], np.repeat(frames[-1:], 20, axis=0))


def test_short_clip_is_retimed_to_fill_the_window() -> None:
    frames = np.linspace(0.0, 19.0, 20, dtype=np.float32)[:, None, None] * np.ones((1, 20, 3), np.float32)
    w = cut_windows(frames, WindowSpec(short="retime"))
    assert w.shape == (1, 60, 20, 3)
    np.testing.assert_allclose(w[0, :, 0, 0], np.linspace(0.0, 19.0, 60), atol=1e-5)  # whole, slower
    one = cut_windows(frames[:1], WindowSpec(short="retime"))
    np.testing.assert_array_equal(one[0], np.repeat(frames[:1], 60, axis=0))  # one pose: held


def test_long_clip_windows_cover_the_tail() -> None:
    frames = np.arange(130, dtype=np.float32)[:, None, None] * np.ones((1, 20, 3), np.float32)
    w = cut_windows(frames, SPEC)
    starts = [int(x[0, 0, 0]) for x in w]
    assert starts == [0, 30, 60, 70]


def test_first_frame_root_and_scale(data_root: Path) -> None:
    clip = load_dataset("kinder-gator", data_root).clips[0]
    frames = clip_frames(clip.joints, clip.times, SPEC)
    w = normalise_windows(cut_windows(frames, SPEC), SPEC)
    np.testing.assert_allclose(w[:, 0, J["HipCenter"]], 0.0, atol=1e-6)
    assert np.median(skeleton.torso_length(w)) == pytest.approx(1.0, rel=0.05)
    per_frame = normalise_windows(cut_windows(frames, SPEC), replace(SPEC, root="per_frame"))
    np.testing.assert_allclose(per_frame[:, :, J["HipCenter"]], 0.0, atol=1e-6)


def test_facing_turns_a_rotated_subject_back() -> None:
    rng = np.random.default_rng(2)
    pose = np.zeros((1, 60, 20, 3), dtype=np.float32)
    pose[..., J["ShoulderLeft"], :] = [-0.2, 0.4, 0.0]
    pose[..., J["ShoulderRight"], :] = [0.2, 0.4, 0.0]
    pose[..., J["HipLeft"], :] = [-0.1, 0.0, 0.0]
    pose[..., J["HipRight"], :] = [0.1, 0.0, 0.0]
    pose[..., J["ShoulderCenter"], :] = [0.0, 0.45, 0.0]
    pose[..., J["Head"], :] = [0.0, 0.6, -0.05]
    pose += rng.normal(scale=1e-3, size=pose.shape).astype(np.float32)
    base = normalise_windows(pose, SPEC)
    angle = np.deg2rad(70.0)
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    turned = normalise_windows((pose @ rot.T).astype(np.float32), SPEC)
    np.testing.assert_allclose(turned, base, atol=1e-4)


@pytest.mark.parametrize(
    "joints,times,match",
    [
        (np.zeros((0, 20, 3)), np.zeros(0), "empty"),
        (np.zeros((10, 19, 3)), np.arange(10.0), "shape"),
        (np.full((10, 20, 3), np.nan), np.arange(10.0), "no frame"),
        (np.zeros((10, 20, 3)), np.arange(9.0), "timestamps"),
        (np.zeros((3, 20, 3)), np.array([0.0, np.nan, 1.0]), "finite"),
    ],
)
def test_bad_clips_give_clear_errors(joints: np.ndarray, times: np.ndarray, match: str) -> None:
    with pytest.raises(ClipError, match=match):
        clip_to_windows(joints, times, SPEC)


def test_nan_joints_in_a_clip_are_bridged_not_propagated(data_root: Path) -> None:
    clip = load_dataset("kinder-gator", data_root).clips[3]
    joints = clip.joints.copy()
    joints[10:13, J["WristRight"]] = np.nan
    w = clip_to_windows(joints, clip.times, SPEC)
    assert np.isfinite(w).all()


def test_a_crop_of_a_normalised_window_is_the_normalised_crop_of_the_raw_one(data_root: Path) -> None:
    """The short scale crops stored support windows, which are normalised: that must be the same as
    cropping the raw frames, as the live worker does."""
    spec = WindowSpec(short="retime")
    clip = load_dataset("kinder-gator", str(data_root)).clips[0]
    raw = cut_windows(clip_frames(clip.joints, clip.times, spec), spec)
    from_normalised = crop_windows(normalise_windows(raw, spec), 20, spec, stride=5)
    from_raw = crop_windows(raw, 20, spec, stride=5)
    assert from_raw.shape == (len(raw) * 9, 60, 20, 3)
    np.testing.assert_allclose(from_normalised, from_raw, atol=1e-4)
    # the crop is the last 20 frames stretched over the window
    last = crop_windows(raw, 20, spec)
    np.testing.assert_allclose(last[0], normalise_windows(cut_windows(raw[0, 40:], spec), spec)[0], atol=1e-5)


@pytest.mark.parametrize(
    "spec",
    [
        WindowSpec(short="retime"),
        WindowSpec(short="retime", root="per_frame"),
        WindowSpec(short="retime", scale=False, facing=False),
    ],
)
def test_a_crop_normalised_before_it_is_retimed_equals_one_normalised_after(spec: WindowSpec) -> None:
    """crop_windows normalises a crop's n frames and then re-times them (the cheap order, the worker
    does it every batch); the rule is to re-time, then normalise."""
    rng = np.random.default_rng(3)
    raw = (rng.normal(size=(4, 60, 20, 3)) * 0.3 + [0.0, 1.0, 2.5]).astype(np.float32)
    for n, stride in ((20, None), (20, 5), (7, 9), (60, None)):
        starts = sorted({*range(0, 60 - n + 1, stride), 60 - n}) if stride else [60 - n]
        crops = np.stack([raw[:, s : s + n] for s in starts], axis=1).reshape(-1, n, 20, 3)
        rule = normalise_windows(retime(crops, spec.frames), spec)
        np.testing.assert_allclose(crop_windows(raw, n, spec, stride), rule, atol=1e-5)
