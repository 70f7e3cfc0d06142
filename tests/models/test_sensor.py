"""models.sensor: Kinect frames -> what the live MediaPipe frontend would deliver."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from clips import Clip
from models import skeleton
from models.preprocess import WindowSpec, clip_frames
from models.sensor import SENSOR_NAMES, SensorModel, load_sensor, simulate
from models.skeleton import J

FPS = 20.0
_HL, _HR = J["HipLeft"], J["HipRight"]


@pytest.fixture(scope="module")
def model() -> SensorModel:
    return load_sensor("mediapipe")


def quiet(m: SensorModel) -> SensorModel:
    """The model without random error and without drops (geometry, centring, scale only)."""
    zero = (0.0, 0.0, 0.0)
    return replace(
        m,
        noise_std=zero,
        noise_bias_std=zero,
        depth_scale_log_std=0.0,
        drop_rate=(0.0,) * 20,
        frame_drop_rate=0.0,
    )


def standing_pose() -> np.ndarray:
    """A plausible Kinect v1 standing pose (20, 3), metres, 2.5 m from the sensor."""
    xy = {
        "HipCenter": (0.0, 0.0),
        "Spine": (0.0, 0.08),
        "ShoulderCenter": (0.0, 0.45),
        "Head": (0.0, 0.62),
        "ShoulderLeft": (-0.17, 0.40),
        "ElbowLeft": (-0.22, 0.14),
        "WristLeft": (-0.24, -0.10),
        "HandLeft": (-0.25, -0.17),
        "ShoulderRight": (0.17, 0.40),
        "ElbowRight": (0.22, 0.14),
        "WristRight": (0.24, -0.10),
        "HandRight": (0.25, -0.17),
        "HipLeft": (-0.08, -0.06),
        "KneeLeft": (-0.09, -0.50),
        "AnkleLeft": (-0.09, -0.90),
        "FootLeft": (-0.09, -0.95),
        "HipRight": (0.08, -0.06),
        "KneeRight": (0.09, -0.50),
        "AnkleRight": (0.09, -0.90),
        "FootRight": (0.09, -0.95),
    }
    pose = np.zeros((20, 3), dtype=np.float32)
    for name, (x, y) in xy.items():
        pose[J[name]] = (x, y + 0.9, 2.5)
    pose[J["FootLeft"], 2] = pose[J["FootRight"], 2] = 2.42  # toes toward the sensor
    return pose


def moving_clip(t: int = 60, seed: int = 0) -> np.ndarray:
    """(t, 20, 3): the standing pose walking 1 m sideways and waving its right hand."""
    rng = np.random.default_rng(seed)
    clip = np.repeat(standing_pose()[None], t, axis=0)
    s = np.linspace(0.0, 1.0, t, dtype=np.float32)
    clip[..., 0] += s[:, None]
    for j in ("ElbowRight", "WristRight", "HandRight"):
        clip[:, J[j], 1] += 0.3 * np.sin(2 * np.pi * s * (1.0 + rng.random()))
    return clip


def test_simulate_keeps_shape_float32_and_finite_for_clips_and_batches(model: SensorModel) -> None:
    rng = np.random.default_rng(0)
    clip = moving_clip()
    batch = np.stack([moving_clip(seed=i) for i in range(8)])
    out_clip = simulate(clip, FPS, model, rng)
    out_batch = simulate(batch, FPS, model, rng)
    assert out_clip.shape == clip.shape and out_batch.shape == batch.shape
    assert out_clip.dtype == np.float32 and out_batch.dtype == np.float32
    assert np.isfinite(out_clip).all() and np.isfinite(out_batch).all()


def test_simulate_is_reproducible_with_the_same_seed(model: SensorModel) -> None:
    batch = np.stack([moving_clip(seed=i) for i in range(4)])
    a = simulate(batch, FPS, model, np.random.default_rng(7))
    b = simulate(batch, FPS, model, np.random.default_rng(7))
    c = simulate(batch, FPS, model, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_every_frame_is_centred_on_its_mid_hip_and_the_root_trajectory_is_lost(model: SensorModel) -> None:
    m = replace(model, drop_rate=(0.0,) * 20, frame_drop_rate=0.0)  # noise on, drops off
    clip = moving_clip()  # walks 1 m sideways
    out = simulate(clip, FPS, m, np.random.default_rng(0))
    mid_hip = 0.5 * (out[:, _HL] + out[:, _HR])
    np.testing.assert_allclose(mid_hip, 0.0, atol=1e-5)
    # from_mediapipe33's HipCenter: lifted from the mid-hip toward the mid-shoulder.
    mid_shoulder = 0.5 * (out[:, J["ShoulderLeft"]] + out[:, J["ShoulderRight"]])
    np.testing.assert_allclose(out[:, J["HipCenter"]], skeleton.HIP_CENTER_LIFT * mid_shoulder, atol=1e-5)
    assert np.ptp(out[:, J["HipCenter"], 0]) < 0.2  # the input's root moved 1 m


def test_output_keeps_canonical_axes(model: SensorModel) -> None:
    out = simulate(moving_clip(), FPS, quiet(model), np.random.default_rng(0))
    assert (out[:, J["HipRight"], 0] > out[:, J["HipLeft"], 0]).all()  # subject's right at larger x
    assert (out[:, J["Head"], 1] > out[:, J["HipCenter"], 1]).all()  # y up
    assert (out[:, J["FootLeft"], 2] < out[:, J["AnkleLeft"], 2]).all()  # toes toward the camera


def test_output_takes_the_sensors_metric_torso_length(model: SensorModel) -> None:
    child = moving_clip() * np.float32(0.7)  # a smaller body; MediaPipe reports its prior size
    out = simulate(child, FPS, quiet(model), np.random.default_rng(0))
    np.testing.assert_allclose(np.median(skeleton.torso_length(out)), model.torso_length_m, rtol=1e-3)


def test_dropped_joints_are_interpolated_between_kept_frames(model: SensorModel) -> None:
    t = 80
    clip = np.repeat(standing_pose()[None], t, axis=0)
    clip[..., 0] += np.linspace(0.0, 0.5, t, dtype=np.float32)[:, None]  # straight-line motion
    clip[:, J["WristRight"], 1] += np.linspace(0.0, 0.4, t, dtype=np.float32)
    base = quiet(model)
    drops = replace(base, drop_rate=(0.3,) * 20, drop_duration_s=(0.2,) * 20)
    clean = simulate(clip, FPS, base, np.random.default_rng(0))
    dropped = simulate(clip, FPS, drops, np.random.default_rng(0))
    assert not np.allclose(clean, dropped)  # drops happened (held ends differ)
    # Interior samples are bracketed by kept ones (drops last at most max_gap_s) and the motion is
    # linear, so interpolation recovers them exactly.
    margin = int(model.max_gap_s * FPS)
    src = [J[n] for n in ("WristRight", "ElbowLeft", "KneeRight", "FootLeft", "Head", "HandRight")]
    np.testing.assert_allclose(dropped[margin:-margin, src], clean[margin:-margin, src], atol=1e-5)


def test_landmark_wander_has_the_measured_std_and_correlation_time(model: SensorModel) -> None:
    m = replace(quiet(model), noise_std=model.noise_std)  # the AR(1) wander alone
    still = np.repeat(standing_pose()[None, None], 400, axis=1).repeat(40, axis=0)  # (40, 400, 20, 3)
    out = simulate(still, FPS, m, np.random.default_rng(0))
    dev = out - out.mean(axis=1, keepdims=True)
    f = np.asarray(model.noise_joint_factor)
    for name in ("KneeRight", "WristLeft"):
        j = J[name]
        # Per-frame centring subtracts the mean of the two hips' own wander.
        expected = (
            np.asarray(model.noise_std)
            * model.torso_length_m
            * np.sqrt(f[j] ** 2 + (f[_HL] ** 2 + f[_HR] ** 2) / 4)
        )
        np.testing.assert_allclose(dev[:, :, j].std(axis=(0, 1)), expected, rtol=0.1)
        for a in range(3):
            lag1 = np.mean(dev[:, 1:, j, a] * dev[:, :-1, j, a]) / np.mean(dev[:, :, j, a] ** 2)
            assert lag1 == pytest.approx(np.exp(-1.0 / (FPS * model.noise_tau_s[a])), abs=0.05)


# Canonical joint standing for each of MediaPipe's 33 landmarks (landmarks from_mediapipe33 ignores
# get HipCenter; any finite value does). Both ears carry Head and both knuckles carry Hand, so the
# synthesised midpoints reproduce them exactly.
LANDMARK_SOURCE = np.full(33, J["HipCenter"], dtype=np.intp)
for _lm, _name in {
    7: "Head", 8: "Head", 11: "ShoulderLeft", 12: "ShoulderRight", 13: "ElbowLeft", 14: "ElbowRight",
    15: "WristLeft", 16: "WristRight", 17: "HandLeft", 18: "HandRight", 19: "HandLeft", 20: "HandRight",
    23: "HipLeft", 24: "HipRight", 25: "KneeLeft", 26: "KneeRight", 27: "AnkleLeft", 28: "AnkleRight",
    31: "FootLeft", 32: "FootRight",
}.items():  # fmt: skip
    LANDMARK_SOURCE[_lm] = J[_name]


def test_the_simulated_trunk_is_the_one_from_mediapipe33_builds() -> None:
    p = moving_clip() + np.random.default_rng(0).normal(0.0, 0.05, (60, 20, 3)).astype(np.float32)
    landmarks = p[:, LANDMARK_SOURCE] * np.array([-1.0, -1.0, 1.0], dtype=np.float32)  # MediaPipe axes
    np.testing.assert_allclose(
        skeleton.rebuild_trunk(p.copy()), skeleton.from_mediapipe33(landmarks), atol=1e-6
    )


def test_unknown_sensor_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: mediapipe"):
        load_sensor("kinect-v3")


def test_stored_model_round_trips_and_names_its_measurement(model: SensorModel) -> None:
    assert model.name == "mediapipe" and "measure.py" in model.source
    assert SensorModel.from_dict(model.to_dict()) == model
    assert SENSOR_NAMES == ("mediapipe",)


@pytest.fixture(scope="module")
def kinect_frames(kinder_gator) -> list[np.ndarray]:  # noqa: ANN001 (ClipSet)
    """One Kinder-Gator clip per motion (58), taken from participant after participant so all 20
    appear, resampled to 20 fps: raw canonical frames (T, 20, 3)."""
    by_motion: dict[str, list[Clip]] = {}
    for c in kinder_gator.clips:
        by_motion.setdefault(c.label, []).append(c)
    picked = [clips[k % len(clips)] for k, (_, clips) in enumerate(sorted(by_motion.items()))]
    spec = WindowSpec()
    return [clip_frames(c.joints, c.times, spec) for c in picked]


def _depth_spread(clips: list[np.ndarray]) -> float:
    """RMS root-relative z over joints and frames, each clip in its median torso (as measure.py)."""
    sq = [(((x[..., 2] - x[..., :1, 2]) / np.median(skeleton.torso_length(x))) ** 2) for x in clips]
    return float(np.sqrt(sum(float(s.sum()) for s in sq) / sum(s.size for s in sq)))


def test_hip_width_on_kinect_clips_becomes_mediapipes(
    model: SensorModel, kinect_frames: list[np.ndarray]
) -> None:
    rng = np.random.default_rng(0)

    def hip_ratio(x: np.ndarray) -> float:
        return float(np.median(np.linalg.norm(x[:, _HL] - x[:, _HR], axis=-1) / skeleton.torso_length(x)))

    before = np.median([hip_ratio(c) for c in kinect_frames])
    after = np.median([hip_ratio(simulate(c, FPS, model, rng)) for c in kinect_frames])
    assert before < 0.45  # Kinect's pelvis-near hip points
    assert after == pytest.approx(model.hip_width_ratio, rel=0.1)


def test_depth_spread_grows_by_the_measured_factor(
    model: SensorModel, kinect_frames: list[np.ndarray]
) -> None:
    rng = np.random.default_rng(0)
    out = [simulate(c, FPS, model, rng) for c in kinect_frames]
    assert model.depth_spread_ratio > 1.3
    assert _depth_spread(out) / _depth_spread(kinect_frames) == pytest.approx(
        model.depth_spread_ratio, rel=0.1
    )
