"""Measure MediaPipe Pose as a sensor and write the parameters of models.sensor.SensorModel.

Run from the repository root:

    .venv/bin/python docs/experiments/2026-11-30-mediapipe-sensor/measure.py \
        --data-root /work/shared/data --out models/sensors/mediapipe.json

What it does (the experiment note next to this folder explains the figures):

1. runs the live frontend's estimator (legacy MediaPipe Pose, model_complexity 1, smoothing on, world
   landmarks) on pose_squats.mp4 and pose_1.mp4 as they are, and again on perturbed copies of the same
   frames (every second frame dropped, cropped, downscaled, rotated by +-4 degrees, JPEG at quality 30);
2. the difference between two runs over the same frames estimates the run-to-run error: its std per
   axis (divided by sqrt 2: both runs carry an error), its correlation time, and the spread of the
   per-run depth scale; MediaPipe's own reference output for the squat video counts as one more run;
3. visibility below 0.5 per canonical joint over all runs gives the drop rates and drop lengths;
4. joint geometry (hip and shoulder width, head, hand, foot offsets, in torso lengths) and the RMS of
   root-relative depth are compared between MediaPipe's output and Kinder-Gator (Kinect v1); the
   depth ratio is the geometric mean over the two videos of the ratio to the closest motions;
5. the depth scale is calibrated by running models.sensor.simulate on Kinder-Gator so that scale and
   noise together give the measured depth spread ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from config.frontend import EstimatorConfig
from models import skeleton
from models.preprocess import WindowSpec, clip_frames
from models.sensor import SensorModel, simulate
from models.skeleton import J, from_mediapipe33, mediapipe_visibility
from pose_frontend.estimator import LegacyPoseEstimator
from training.datasets import load_dataset

VIDEOS = ("pose_squats.mp4", "pose_1.mp4")
# The Kinder-Gator motions closest to each video, for a depth-spread ratio less confounded by what
# the person does: squats (knees forward, upright torso) ~ lunges; a figure hopping on one leg with
# swinging arms ~ jumping and running in place.
MATCHED_MOTIONS = {
    "pose_squats.mp4": ("Do-a-forward-lunge",),
    "pose_1.mp4": ("Jump", "Jump-as-high-as-you-can", "Run-in-place"),
}
VIS_THRESHOLD = 0.5  # the worker's min_visibility default, used as the per-joint threshold too
MAX_GAP_S = 0.5
LIFT = skeleton.HIP_CENTER_LIFT
SOURCE_JOINTS = [
    i for i, n in enumerate(skeleton.JOINT_NAMES) if n not in ("HipCenter", "Spine", "ShoulderCenter")
]
HL, HR, SL, SR = J["HipLeft"], J["HipRight"], J["ShoulderLeft"], J["ShoulderRight"]
log = logging.getLogger("measure")


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames, fps


def perturb(frames: list[np.ndarray], kind: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Perturbed frames and the indices of the original frames they show."""
    idx = np.arange(len(frames))
    if kind == "every_2nd":
        return frames[::2], idx[::2]
    out: list[np.ndarray] = []
    for f in frames:
        h, w = f.shape[:2]
        if kind == "crop":  # 6 % off every side
            g = f[int(0.06 * h) : int(0.94 * h), int(0.06 * w) : int(0.94 * w)]
        elif kind == "downscale":
            g = cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        elif kind.startswith("rotate"):
            m = cv2.getRotationMatrix2D((w / 2, h / 2), float(kind.split("_")[1]), 1.0)
            g = cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        elif kind == "occluder":  # a grey bar, 20 % of the width, crossing the image once
            g = f.copy()
            x0 = int((len(out) / max(len(frames) - 1, 1)) * 1.2 * w - 0.2 * w)
            g[:, max(x0, 0) : max(x0 + int(0.2 * w), 0)] = 128
        elif kind == "bottom_cut":  # the lowest 20 % of the view missing (feet at the edge)
            g = f[: int(0.8 * h)]
        elif kind == "jpeg30":
            _, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 30])
            g = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        else:
            g = f
        out.append(np.ascontiguousarray(g))
    return out, idx


def run_pose(frames: list[np.ndarray], fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Canonical joints (N, 20, 3) and visibility (N, 20); NaN where nobody was detected."""
    joints = np.full((len(frames), 20, 3), np.nan, dtype=np.float32)
    vis = np.zeros((len(frames), 20), dtype=np.float32)
    with LegacyPoseEstimator(EstimatorConfig()) as est:
        for i, f in enumerate(frames):
            r = est.estimate(f, i / fps)
            if r is not None:
                joints[i] = from_mediapipe33(r.world)
                vis[i] = mediapipe_visibility(r.visibility)
    return joints, vis


def ratios(x: np.ndarray) -> dict[str, float]:
    """Median geometry of canonical poses (N, 20, 3) in torso lengths, torso = (1 - lift) * |mid
    shoulders - mid hips| (what from_mediapipe33 gives as HipCenter -> ShoulderCenter)."""
    mh = 0.5 * (x[:, HL] + x[:, HR])
    ms = 0.5 * (x[:, SL] + x[:, SR])
    torso = (1 - LIFT) * np.linalg.norm(ms - mh, axis=-1)

    def med(v: np.ndarray) -> float:
        return float(np.nanmedian(v / torso))

    n = np.linalg.norm
    return {
        "hip_width": med(n(x[:, HL] - x[:, HR], axis=-1)),
        "shoulder_width": med(n(x[:, SL] - x[:, SR], axis=-1)),
        "head_offset": med(n(x[:, J["Head"]] - ms, axis=-1)),
        "hand_offset": med(
            0.5
            * (
                n(x[:, J["HandLeft"]] - x[:, J["WristLeft"]], axis=-1)
                + n(x[:, J["HandRight"]] - x[:, J["WristRight"]], axis=-1)
            )
        ),
        "foot_offset": med(
            0.5
            * (
                n(x[:, J["FootLeft"]] - x[:, J["AnkleLeft"]], axis=-1)
                + n(x[:, J["FootRight"]] - x[:, J["AnkleRight"]], axis=-1)
            )
        ),
        "hip_width_over_kinect_torso": float(
            np.nanmedian(n(x[:, HL] - x[:, HR], axis=-1) / skeleton.torso_length(x))
        ),
        "torso_m": float(np.nanmedian(torso)),
    }


def depth_spread(clips: list[np.ndarray]) -> float:
    """RMS of root-relative z over the joints and frames of clips ``[(T, 20, 3), ...]``, each in its
    own median torso length (HipCenter -> ShoulderCenter), as simulate scales a clip. Per-frame torso
    lengths would let Kinect's glitch frames (torso 0.12 m) dominate. The figure depends on the
    motion as much as on the sensor, hence the per-motion figures."""
    sq, n = 0.0, 0
    for x in clips:
        rel = (x[..., 2] - x[..., :1, 2]) / np.nanmedian(skeleton.torso_length(x))
        sq += float(np.nansum(rel**2))
        n += int(np.isfinite(rel).sum())
    return float(np.sqrt(sq / n))


def fit_rotation(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (rad) about z that best maps a's x/y onto b's (least squares over all finite points)."""
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    ax, ay, bx, by = a[ok][:, 0], a[ok][:, 1], b[ok][:, 0], b[ok][:, 1]
    return float(np.arctan2(np.sum(ax * by - ay * bx), np.sum(ax * bx + ay * by)))


def rotate_z(x: np.ndarray, theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    out = x.copy()
    out[..., 0], out[..., 1] = c * x[..., 0] - s * x[..., 1], s * x[..., 0] + c * x[..., 1]
    return out


def autocorr(d: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean-removed autocorrelation of series d (T, K) pooled over K, lags 0..max_lag."""
    d = d - np.nanmean(d, axis=0)
    ok = np.isfinite(d)
    d = np.where(ok, d, 0.0)
    c0 = np.sum(d * d)
    return np.array([np.sum(d[k:] * d[: len(d) - k]) / c0 if k else 1.0 for k in range(max_lag + 1)])


def runs_of(mask: np.ndarray) -> list[int]:
    """Lengths of True runs in a 1-D mask."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    e = np.flatnonzero(np.diff(padded))
    return list(e[1::2] - e[::2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t_start = time.perf_counter()
    testdata = args.data_root / "mediapipe_pose_testdata"
    kinds = ("asis", "asis_again", "every_2nd", "crop", "downscale", "rotate_4", "rotate_-4", "jpeg30")
    occlusions = ("occluder", "bottom_cut")  # visibility statistics only: they change what is seen

    diffs: dict[str, list[np.ndarray]] = {}  # video -> list of (T, 17, 3) run differences (torso units)
    depth_log_ratios: list[float] = []
    rotations: dict[str, float] = {}
    vis_all: list[tuple[np.ndarray, float]] = []  # (visibility (N, 20) with NaN rows = no person, fps)
    vis_labels: list[str] = []
    asis: dict[str, np.ndarray] = {}
    per_video: dict[str, dict[str, object]] = {}
    for video in VIDEOS:
        frames, fps = read_video(testdata / video)
        runs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]] = {}
        for kind in kinds + occlusions:
            f, idx = perturb(frames, kind)
            t0 = time.perf_counter()
            x, v = run_pose(f, fps)
            eff_fps = fps / 2 if kind == "every_2nd" else fps
            runs[kind] = (x, v, idx, eff_fps)
            v = np.where(np.isfinite(x).all(axis=(1, 2))[:, None], v, np.nan)
            vis_all.append((v, eff_fps))
            vis_labels.append(f"{video}:{kind}")
            log.info(
                "%s %s: %d frames, %d detected, %.0f ms/frame",
                video,
                kind,
                len(f),
                np.isfinite(x[:, 0, 0]).sum(),
                1000 * (time.perf_counter() - t0) / len(f),
            )
        base = runs["asis"][0]
        asis[video] = base
        torso = float(np.nanmedian(skeleton.torso_length(base)))
        others = {k: (r[0], r[2]) for k, r in runs.items() if k != "asis" and k not in occlusions}
        if video == "pose_squats.mp4":
            ref = np.array(json.loads((testdata / "pose_squats_3d.full.json").read_text()), dtype=np.float32)
            others["mediapipe_reference"] = (from_mediapipe33(ref), np.arange(len(ref)))
        d_list = []
        for kind, (x, idx) in others.items():
            b = base[idx]
            if kind.startswith("rotate"):
                rotations[f"{video}:{kind}"] = float(np.degrees(fit_rotation(x, b)))
                x = rotate_z(x, np.radians(rotations[f"{video}:{kind}"]))
            d = (x - b)[:, SOURCE_JOINTS] / torso
            if kind == "asis_again":
                per_video.setdefault(video, {})["repeat_max_abs_diff"] = float(np.nanmax(np.abs(d)))
                continue  # the legacy graph is deterministic; a repeat adds no information
            d_list.append(d)
            depth_log_ratios.append(float(np.log(depth_spread([x]) / depth_spread([b]))))
            per_video.setdefault(video, {})[f"rms_diff_{kind}"] = [
                float(np.sqrt(np.nanmean(d[..., a] ** 2))) for a in range(3)
            ]
        diffs[video] = d_list
        per_video[video].update(
            fps=fps,
            frames=len(frames),
            torso_m=torso,
            depth_spread=depth_spread([base]),
            **{f"geometry_{k}": v for k, v in ratios(base).items()},
        )

    # --- noise: a constant offset per run and joint plus a fluctuating part, per axis and joint ---
    # Every series (run, joint, axis) splits into its mean (an error that lasts the whole clip) and
    # the rest; both are differences of two noisy runs, hence the 1/sqrt(2).
    bias = np.concatenate([np.nanmean(d, axis=0) for v in diffs.values() for d in v])  # (runs*17, 3)
    resid = np.concatenate([d - np.nanmean(d, axis=0) for v in diffs.values() for d in v])
    bias_axis = np.sqrt(np.nanmean(bias**2, axis=0)) / np.sqrt(2)
    std_axis = np.sqrt(np.nanmean(resid**2, axis=(0, 1))) / np.sqrt(2)
    all_d = np.concatenate([d for v in diffs.values() for d in v])  # (sum T, 17, 3)
    per_joint = np.sqrt(np.nanmean(all_d**2, axis=(0, 2)))
    joint_factor = np.ones(20)
    joint_factor[SOURCE_JOINTS] = per_joint / per_joint.mean()
    taus: dict[str, list[float]] = {}
    acfs: dict[str, list[list[float]]] = {}
    for video, d_list in diffs.items():
        vfps = per_video[video]["fps"]
        assert isinstance(vfps, float)
        lags = max(1, int(round(0.5 * vfps)))
        for a in range(3):
            # every_2nd sits on a coarser time grid; the other runs share the video's frame rate.
            acf = np.mean(
                [autocorr(d[..., a], lags) for d in d_list if len(d) == per_video[video]["frames"]], axis=0
            )
            acfs.setdefault(video, []).append([round(float(c), 3) for c in acf])
            # Fit exp(-lag / tau) to the first lags while the correlation is clearly positive.
            k = np.arange(1, lags + 1)
            good = acf[1:] > 0.1
            kk = k[good][: max(1, int(np.argmin(good)) if not good.all() else len(k))]
            tau = float(np.sum(kk**2) / np.sum(kk * -np.log(acf[kk])) / vfps) if kk.size else 0.5 / vfps
            taus.setdefault(video, []).append(tau)
    # The 30 fps video resolves correlation times the 5 fps one cannot; weight by frames per second.
    w = np.array([per_video[v]["fps"] for v in VIDEOS], dtype=float)
    tau_axis = np.exp(np.sum(w[:, None] * np.log(np.array([taus[v] for v in VIDEOS])), axis=0) / w.sum())

    # --- visibility drops per canonical joint, and whole-frame losses ---
    drop_rate, drop_dur = np.zeros(20), np.zeros(20)
    frame_lost, frame_runs, n_frames = 0, [], 0
    per_joint_runs: list[list[float]] = [[] for _ in range(20)]
    per_joint_low = np.zeros(20)
    n_detected = 0
    vis_summary: dict[str, object] = {}
    for (v, fps), label in zip(vis_all, vis_labels, strict=True):
        vis_summary[label] = {
            "detected": float(np.isfinite(v).all(axis=1).mean()),
            "visibility_p5_per_joint": [round(float(q), 3) for q in np.nanpercentile(v, 5, axis=0)],
            "below_threshold": float(np.nanmean(v < VIS_THRESHOLD)),
        }
        person = np.isfinite(v).all(axis=1)
        lost = ~person | (np.nan_to_num(v).mean(axis=1) < VIS_THRESHOLD)
        frame_lost += int(lost.sum())
        n_frames += len(v)
        frame_runs += [r / fps for r in runs_of(lost)]
        low = (np.nan_to_num(v, nan=1.0) < VIS_THRESHOLD) & ~lost[:, None]
        per_joint_low += low.sum(axis=0)
        n_detected += int((~lost).sum())
        for j in range(20):
            per_joint_runs[j] += [r / fps for r in runs_of(low[:, j])]
    drop_rate = per_joint_low / max(n_detected, 1)
    drop_dur = np.array([np.mean(r) if r else 0.0 for r in per_joint_runs])

    # --- geometry and depth spread: MediaPipe vs Kinect ---
    mp_frames = np.concatenate([asis[v] for v in VIDEOS])
    mp_frames = mp_frames[np.isfinite(mp_frames).all(axis=(1, 2))]
    mp_geo = ratios(mp_frames)
    mp_depth = depth_spread([asis[v] for v in VIDEOS])
    kg = load_dataset("kinder-gator", args.data_root)
    spec = WindowSpec()
    kg_frames = [clip_frames(c.joints, c.times, spec) for c in kg.clips]
    kin = np.concatenate(kg_frames)
    kin_geo = ratios(kin)
    kin_depth = depth_spread(kg_frames)
    # Motion-matched comparisons: the squat video vs lunges, the jumping/dancing figure vs jumps.
    by_label: dict[str, list[np.ndarray]] = {}
    for c, f in zip(kg.clips, kg_frames, strict=True):
        by_label.setdefault(c.label, []).append(f)
    kin_depth_by_motion = {k: depth_spread(v) for k, v in sorted(by_label.items())}
    matched_ratio = {
        v: depth_spread([asis[v]]) / depth_spread([f for k in MATCHED_MOTIONS[v] for f in by_label[k]])
        for v in VIDEOS
    }
    scale = {
        k: mp_geo[k] / kin_geo[k]
        for k in ("hip_width", "shoulder_width", "head_offset", "hand_offset", "foot_offset")
    }

    params: dict[str, Any] = dict(
        name="mediapipe",
        source=(
            "MediaPipe Pose (legacy, model_complexity 1, smoothing on) run on pose_squats.mp4 and pose_1.mp4 as-is "
            "and perturbed, compared with Kinder-Gator, by `.venv/bin/python "
            "docs/experiments/2026-11-30-mediapipe-sensor/measure.py --data-root /work/shared/data "
            "--out models/sensors/mediapipe.json`"
        ),
        hip_width_scale=scale["hip_width"],
        shoulder_width_scale=scale["shoulder_width"],
        head_offset_scale=scale["head_offset"],
        hand_offset_scale=scale["hand_offset"],
        foot_offset_scale=scale["foot_offset"],
        hip_width_ratio=mp_geo["hip_width"],
        torso_length_m=mp_geo["torso_m"],
        depth_spread_ratio=float(np.exp(np.mean(np.log(list(matched_ratio.values()))))),
        depth_scale=1.0,
        depth_scale_log_std=float(np.std(depth_log_ratios) / np.sqrt(2)),
        noise_std=tuple(float(s) for s in std_axis),
        noise_bias_std=tuple(float(s) for s in bias_axis),
        noise_tau_s=tuple(float(t) for t in tau_axis),
        noise_joint_factor=tuple(float(f) for f in joint_factor),
        visibility_threshold=VIS_THRESHOLD,
        drop_rate=tuple(float(r) for r in drop_rate),
        drop_duration_s=tuple(float(d) for d in drop_dur),
        frame_drop_rate=frame_lost / n_frames,
        frame_drop_duration_s=float(np.mean(frame_runs)) if frame_runs else 0.0,
        max_gap_s=MAX_GAP_S,
    )
    model = SensorModel(**params)

    # --- calibrate depth_scale on every Kinder-Gator clip: scale^2 * S_geom^2 + S_noise^2 = (F * S_in)^2 ---
    def out_rms(m: SensorModel) -> float:
        r = np.random.default_rng(args.seed)
        return depth_spread([simulate(c, spec.fps, m, r) for c in kg_frames])

    s_in = kin_depth
    quiet = replace(model, depth_scale_log_std=0.0)
    s_geom = out_rms(replace(quiet, noise_std=(0.0, 0.0, 0.0), noise_bias_std=(0.0, 0.0, 0.0)))
    s_noise_sq = max(out_rms(replace(quiet, depth_scale=0.0)) ** 2, 0.0)
    target = model.depth_spread_ratio * s_in
    depth_scale = float(np.sqrt(max(target**2 - s_noise_sq, 0.01 * target**2)) / s_geom)
    model = replace(model, depth_scale=depth_scale)
    for _ in range(3):  # the split above is approximate (torso lengths move with the noise too)
        achieved = out_rms(model) / s_in
        model = replace(model, depth_scale=model.depth_scale * model.depth_spread_ratio / achieved)
    achieved = out_rms(model) / s_in

    out = model.to_dict()
    out["measurements"] = {
        "videos": per_video,
        "mediapipe_geometry": mp_geo,
        "kinect_geometry_kinder_gator": kin_geo,
        "mediapipe_depth_spread_torso": mp_depth,
        "kinect_depth_spread_torso": kin_depth,
        "kinect_depth_spread_by_motion": kin_depth_by_motion,
        "depth_spread_ratio_matched_motions": matched_ratio,
        "depth_spread_ratio_all_motions": mp_depth / kin_depth,
        "depth_log_ratios_between_runs": depth_log_ratios,
        "noise_tau_s_per_video": taus,
        "noise_acf_per_video_axis": acfs,
        "fitted_rotation_deg": rotations,
        "visibility_per_run": vis_summary,
        "calibration": {
            "clips": len(kg_frames),
            "s_in": s_in,
            "s_geom": s_geom,
            "s_noise": float(np.sqrt(s_noise_sq)),
            "achieved_depth_spread_ratio": achieved,
        },
        "frames_total": n_frames,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    log.info("%s", json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
