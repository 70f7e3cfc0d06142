"""Experiment (issue 24): does a ~1 s kinematic score fused with the encoder's 3 s score follow the action?

For every stream of a built-in set (:mod:`evaluation.stream_sets`) the encoder's 3 s windows are
scored exactly as ``haad eval stream`` scores them (the worker's pipeline, a profile enrolled from the
stream's support clips; score / threshold). Beside them, short windows (``--short-s``, hop 0.25 s)
are cut from the same recording, normalised like any window and reduced to their ``--dct-m`` lowest
DCT coefficients; their score is the distance to the nearest short crop of the support clips (every
crop, hop 2 frames), divided by the ``1 - target_far`` (``--short-far``) quantile of the support's own
leave-one-clip-out distances (each crop against the other clips' crops): the same "score /
threshold" scale as the encoder's. A frame's score for one scale is the mean of the windows covering
it (``haad eval stream``'s rule), the window centred nearest to it, or the max of the covering ones;
two scales are fused per frame by max or mean. Reported: per-stream mean frame AUC for each.

    python -m evaluation.short_scale kinder-gator-dense [--max-streams N]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.enroll import build_profile
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline
from edge.profiles import Profile
from edge.scoring import leave_one_clip_out_scores
from evaluation.fewshot import roc_auc
from evaluation.stream import StreamRun, _inside, replay, summarise
from evaluation.stream_sets import STREAM_SETS, LabelledStream
from models.dct import dct
from models.preprocess import WindowSpec, clip_frames, interpolate_at, normalise_windows
from models.scoring import pairwise_distances

HOP_S = 0.25
SUPPORT_HOP = 2  # frames between support crops
VARIANTS = (("last", "max"), ("mid", "max"), ("last", "mean"), ("mid", "mean"))  # (crop, fuse)


def short_features(frames: np.ndarray, spec: WindowSpec, n: int, hop: int, m: int) -> np.ndarray:
    """``(N, J, 3)`` frames at ``spec.fps`` -> ``(W, m * J * 3)`` DCT features of every n-frame crop."""
    starts = np.arange(0, len(frames) - n + 1, hop)
    if len(starts) == 0:
        return np.zeros((0, m * frames.shape[1] * 3), np.float32)
    w = normalise_windows(np.stack([frames[s : s + n] for s in starts]), spec)
    return dct(w.reshape(len(w), n, -1), m).reshape(len(w), -1)


class ShortSupport:
    """Short crops of the support clips and the leave-one-clip-out threshold they calibrate."""

    def __init__(self, stream: LabelledStream, spec: WindowSpec, n: int, m: int, target_far: float) -> None:
        feats, groups = [], []
        for g, clip in enumerate(stream.support):
            f = short_features(clip_frames(clip.joints, clip.times, spec), spec, n, SUPPORT_HOP, m)
            feats.append(f)
            groups.append(np.full(len(f), g))
        self.feats, self.groups = np.concatenate(feats), np.concatenate(groups)
        if len(np.unique(self.groups)) < 2:
            raise ValueError(f"{stream.name}: fewer than two support clips hold {n} frames")
        d = pairwise_distances(self.feats, self.feats)
        d[self.groups[:, None] == self.groups[None, :]] = np.inf
        loco = d.min(axis=1)
        self.threshold = float(np.quantile(loco[np.isfinite(loco)], 1 - target_far))

    def score(self, feats: np.ndarray) -> np.ndarray:
        return pairwise_distances(feats, self.feats).min(axis=1) / self.threshold


def short_windows(
    stream: LabelledStream, support: ShortSupport, spec: WindowSpec, n: int, m: int
) -> np.ndarray:
    """``(W, 3)`` (t_start, t_end, score / threshold) of the stream's short windows."""
    rec = stream.recording
    grid = rec.times[0] + np.arange(int((rec.times[-1] - rec.times[0]) * spec.fps) + 1) / spec.fps
    frames = interpolate_at(rec.joints, rec.times, grid)
    hop = round(HOP_S * spec.fps)
    feats = short_features(frames, spec, n, hop, m)
    t0 = grid[np.arange(len(feats)) * hop]
    return np.stack([t0, t0 + n / spec.fps, support.score(feats)], axis=1)


class FusedPipeline(Pipeline):
    """The worker's pipeline with each window's score fused with the short score of one crop of it
    (``crop``: its last ``n`` frames, live as can be, or its middle ones, the moment its score is
    drawn at): ``fuse`` max or mean of the two score / threshold ratios, on the profile's scale, so
    the episodes and the replay's windows see the fused score."""

    def __init__(self, *args: object, short: ShortSupport, n: int, m: int, crop: str, fuse: str,
                 scale: float = 1.0, **kwargs: object) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.short, self.n, self.m, self.crop, self.fuse, self.scale = short, n, m, crop, fuse, scale

    def _update_episodes(
        self, items, names, scores, thresholds, short_hot=None, **kwargs
    ) -> list[EpisodeEvent]:  # type: ignore[no-untyped-def]
        frames = np.stack([w.frames for w in items])
        w = normalise_windows(crop_of(frames, self.n, self.crop), self.backend.spec)
        short = self.short.score(dct(w.reshape(len(w), self.n, -1), self.m).reshape(len(w), -1))
        enc = scores[:, 0] / thresholds[0]
        scores[:, 0] = fused_ratio(enc, short, self.fuse) / self.scale * thresholds[0]
        return super()._update_episodes(items, names, scores, thresholds, short_hot, **kwargs)


def crop_of(windows: np.ndarray, n: int, crop: str) -> np.ndarray:
    f = windows.shape[1]
    lo = f - n if crop == "last" else (f - n) // 2
    return windows[:, lo : lo + n]


def fused_ratio(enc: np.ndarray, short: np.ndarray, fuse: str) -> np.ndarray:
    return np.fmax(enc, short) if fuse == "max" else (enc + short) / 2


def fused_scale(profile: Profile, backend: EncoderBackend, short: ShortSupport, n: int, m: int, crop: str,
                fuse: str, target_far: float) -> float:  # fmt: skip
    """The ``1 - target_far`` quantile of the fused score of the profile's calibration windows, each
    scored leave-one-clip-out at both scales (its crop against the crops of other clips' windows),
    over the encoder's own: what the fused ratio is divided by. A crop of a normalised window, normalised again, is the crop
    normalised from raw joints (the normalisation composes)."""
    if profile.calibration_windows is not None and profile.calibration_groups is not None:
        w, g, b = profile.calibration_windows, profile.calibration_groups, profile.calibration_behaviour_ids
    else:  # calibrated on the support windows themselves (no generated variants: not augmented)
        w, g, b = profile.windows, profile.groups, profile.behaviour_ids
    enc = leave_one_clip_out_scores(backend.embed(w), g, behaviours=b)
    spec = backend.spec
    q = normalise_windows(crop_of(w, n, crop), spec)
    q = dct(q.reshape(len(q), n, -1), m).reshape(len(q), -1)
    pool = short_features_of_windows(w, spec, n, m)
    d = pairwise_distances(q, pool[0])
    d[np.asarray(g)[:, None] == np.asarray(g)[pool[1]][None, :]] = np.inf
    enc = enc / profile.threshold
    fused = fused_ratio(enc, d.min(axis=1) / short.threshold, fuse)
    # relative to the encoder's own leave-out quantile: its threshold sits above that by the
    # calibration prior (people nobody enrolled stray further), and so does the fused one
    return float(np.quantile(fused[np.isfinite(fused)], 1 - target_far) / np.quantile(enc, 1 - target_far))


def short_features_of_windows(
    w: np.ndarray, spec: WindowSpec, n: int, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every crop (hop ``HOP_S``) of each window: features and the window each came from."""
    hop = round(HOP_S * spec.fps)
    feats = [short_features(x, spec, n, hop, m) for x in w]
    return np.concatenate(feats), np.concatenate([np.full(len(f), i) for i, f in enumerate(feats)])


def alert_figures(s: dict[str, object]) -> dict[str, object]:
    """The headline figures of one :func:`evaluation.stream.summarise` output."""
    b = s["boundary_error_s"]
    return {
        "frame_auc_mean": s["frame_auc_mean"], "precision": s["alert_precision"], "recall": s["alert_recall"],
        "delay_median_s": (s["delay_s"] or {}).get("median"),  # type: ignore[attr-defined]
        "start_err_median_s": (b["start"] or {}).get("median"),  # type: ignore[index]
        "end_err_median_s": (b["end"] or {}).get("median"),  # type: ignore[index]
        "normal_windows_over_threshold": s["false_alarm_rate"]["realised"],  # type: ignore[index]
    }  # fmt: skip


Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def frame_rule(name: str) -> Rule:
    """``(grid, windows (W, 3)) -> (len(grid),)`` frame scores (NaN where no window covers a frame)."""

    def covering(grid: np.ndarray, w: np.ndarray, pool: str) -> np.ndarray:
        out = np.full(len(grid), np.nan)
        for i, t in enumerate(grid):
            s = w[(w[:, 0] <= t) & (t <= w[:, 1]), 2]
            if len(s):
                out[i] = s.mean() if pool == "mean" else s.max()
        return out

    def centred(grid: np.ndarray, w: np.ndarray) -> np.ndarray:
        mid = (w[:, 0] + w[:, 1]) / 2
        k = np.abs(grid[:, None] - mid[None, :]).argmin(axis=1)
        inside = (w[k, 0] <= grid) & (grid <= w[k, 1])
        return np.where(inside, w[k, 2], np.nan)

    if name == "centre":
        return centred
    return lambda grid, w: covering(grid, w, name)


def stream_aucs(
    stream: LabelledStream, long_w: np.ndarray, short_w: np.ndarray, fps: float
) -> dict[str, float]:
    grid = np.arange(long_w[:, 0].min(), long_w[:, 1].max(), 1 / fps)
    abnormal, normal = _inside(grid, stream.abnormal), _inside(grid, stream.normal)
    out: dict[str, float] = {}
    for rule_name in ("mean", "centre", "max"):
        rule = frame_rule(rule_name)
        enc, short = rule(grid, long_w), rule(grid, short_w)
        # a frame no short window covers (the stream's last fraction of a second) keeps the encoder's
        short = np.where(np.isnan(short), enc, short)
        for fused, s in (
            ("encoder", enc), ("short", short),
            ("max", np.fmax(enc, short)), ("mean", (enc + short) / 2),
        ):  # fmt: skip
            ok = (abnormal | normal) & np.isfinite(s)
            if abnormal[ok].any() and normal[ok].any():
                out[f"{fused}/{rule_name}"] = roc_auc(s[ok], abnormal[ok])
    return out


def run(dataset: str, backend: EncoderBackend, cfg: WorkerConfig, *, short_s: float, dct_m: int,
        max_streams: int | None, short_far: float | None = None, calibrate: bool = False) -> dict[str, object]:  # fmt: skip
    streams = STREAM_SETS[dataset](None)
    if max_streams is not None and len(streams) > max_streams:  # every k-th: all people and actions stay
        streams = streams[:: -(-len(streams) // max_streams)]
    spec, n = backend.spec, round(short_s * backend.spec.fps)
    profiles: dict[tuple[str, ...], tuple[Profile, ShortSupport]] = {}
    per: list[dict[str, float]] = []
    runs: dict[str, list[StreamRun]] = {"encoder": [], **{f"{f}/{c}": [] for c, f in VARIANTS}}
    for stream in streams:
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            profile = build_profile("eval", stream.support, backend, calibration=cfg.calibration,
                                    min_segment_s=cfg.min_segment_s)  # fmt: skip
            profiles[key] = (
                profile,
                ShortSupport(stream, spec, n, dct_m, short_far or cfg.calibration.target_far),
            )
        profile, support = profiles[key]
        base = replay(stream, profile, backend, cfg)
        runs["encoder"].append(base)
        for crop, fuse in VARIANTS:

            def make(*a: object, **k: object) -> Pipeline:
                return FusedPipeline(*a, short=support, n=n, m=dct_m, crop=crop, fuse=fuse, scale=scale, **k)  # noqa: B023

            scale = (
                fused_scale(profile, backend, support, n, dct_m, crop, fuse, cfg.calibration.target_far)
                if calibrate
                else 1.0
            )
            runs[f"{fuse}/{crop}"].append(replay(stream, profile, backend, cfg, make))
        long_w = np.array(base.windows)
        if len(long_w):
            per.append(stream_aucs(stream, long_w, short_windows(stream, support, spec, n, dct_m), spec.fps))
    keys = sorted({k for p in per for k in p})
    target = cfg.calibration.target_far
    return {
        "dataset": dataset, "streams": len(per), "short_s": short_s, "dct_m": dct_m, "short_far": short_far, "calibrated": calibrate,
        "frame_auc_mean": {k: float(np.mean([p[k] for p in per if k in p])) for k in keys},
        "alerts": {k: alert_figures(summarise(streams, r, spec.fps, target)) for k, r in runs.items()},
    }  # fmt: skip


def main() -> None:
    from config.edge import EdgeConfig
    from edge.backends import make_backend

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", choices=sorted(STREAM_SETS))
    ap.add_argument("--short-s", type=float, default=1.0)
    ap.add_argument("--dct-m", type=int, default=10)
    ap.add_argument(
        "--short-far", type=float, default=None, help="the short score's quantile (default: target_far)"
    )
    ap.add_argument("--calibrate", action="store_true", help="a threshold of the fused score's own")
    ap.add_argument("--max-streams", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/short_scale"))
    a = ap.parse_args()
    cfg = EdgeConfig()  # the defaults, as `haad eval stream` without --config
    backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
    result = run(
        a.dataset,
        backend,
        cfg.worker,
        short_s=a.short_s,
        dct_m=a.dct_m,
        max_streams=a.max_streams,
        short_far=a.short_far,
        calibrate=a.calibrate,
    )
    a.out.mkdir(parents=True, exist_ok=True)
    far = ("" if a.short_far is None else f"_far{a.short_far:g}") + ("_cal" if a.calibrate else "")
    (a.out / f"{a.dataset}_{a.short_s:g}s_m{a.dct_m}{far}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
