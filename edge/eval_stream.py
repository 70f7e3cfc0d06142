"""``haad eval stream``: the live path on labelled recordings, frame by frame and alert by alert.

Each labelled stream is replayed through the worker's own :class:`~edge.pipeline.Pipeline` (windows,
batching, encoder, Eq. 6, alert episodes) against a profile enrolled from *other* people's clips of
the stream's normal behaviour, exactly as ``haad enroll`` would build it.

Streams (docs/stream_eval.md):

* ``kinder-gator``: for each Kinder-Gator test participant and each (normal, abnormal) pair below,
  that participant's clip of the normal motion, then their clip of an unseen abnormal motion, then the
  normal clip again, joined by 0.5 s blends (the body is moved so it does not jump); the profile is
  enrolled from 3 clips of the normal motion by other test participants;
* ``utkinect``: every continuous UTKinect recording with every action as "normal"; the profile is
  enrolled from 3 segments of that action by other subjects; all other annotated segments are the
  abnormal parts, unannotated stretches between actions are left out of the frame metrics.

Metrics: frame-level AUC (a frame's score is the mean score of the windows covering it, divided by
the profile's threshold so streams can be pooled), per-stream mean AUC; alert level: an alert
(episode) is a true positive when it overlaps an abnormal part; recall is the share of abnormal parts
overlapped by an alert; delay is from the start of an abnormal part to the end of the window that
opened its first alert; and how many abnormal parts got exactly one alert. Window level: the
windows' normalised scores binned by the share of the window that lies in an abnormal part, i.e. how
much abnormal motion a window must hold before it crosses the threshold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.bus.messages import SkeletonFrame
from edge.enroll import Augmentation, EnrolClip, build_profile
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline
from edge.profiles import Profile
from models.skeleton import NUM_JOINTS, ROOT
from training.datasets import Clip, load_dataset, resolve_data_root
from training.datasets.utkinect import load_utkinect_recordings
from training.fewshot import roc_auc
from training.protocol import KINDER_GATOR

Interval = tuple[float, float]
BLEND_S = 0.5
SHOTS = 3
SHARE_QUARTERS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
# Normal behaviours a site might enrol, and the unseen motions played as the abnormal part.
KG_NORMAL = ("Walk-in-place", "Wave-your-hand", "Run-in-place", "Climb-and-imaginary-ladder", "Draw-a-square")
KG_ABNORMAL = ("Punch", "Kick-a-ball", "Jump", "Throw-a-ball-", "Bow", "Do-a-forward-lunge")


@dataclass(frozen=True)
class LabelledStream:
    """A recording with ground truth: ``abnormal`` / ``normal`` intervals (source seconds)."""

    name: str
    joints: np.ndarray  # (T, 20, 3) canonical
    times: np.ndarray  # (T,)
    normal_label: str
    abnormal: tuple[Interval, ...]
    normal: tuple[Interval, ...]
    support: tuple[Clip, ...]


def _blend(a: Clip, b: Clip, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A linear blend from ``a``'s last pose into ``b``, and ``b`` moved so its root continues
    ``a``'s (x, z): (blend joints, blend times, moved joints, moved times)."""
    shift = a.joints[-1, ROOT] - b.joints[0, ROOT]
    shift[1] = 0.0  # keep the floor height
    moved = b.joints + shift
    n = int(BLEND_S * fps)
    w = (np.arange(1, n + 1) / (n + 1))[:, None, None]
    blend = (1 - w) * a.joints[-1] + w * moved[0]
    t_blend = a.times[-1] + np.arange(1, n + 1) / fps
    t_b = t_blend[-1] + 1 / fps + (b.times - b.times[0])
    return blend.astype(np.float32), t_blend, moved.astype(np.float32), t_b


def stitch(parts: Sequence[Clip]) -> tuple[np.ndarray, np.ndarray, list[Interval]]:
    """Concatenate clips with blends; returns joints, times and each part's time span."""
    joints, times = [parts[0].joints], [parts[0].times - parts[0].times[0]]
    spans = [(float(times[0][0]), float(times[0][-1]))]
    prev = Clip(parts[0].joints, times[0], "", "", "")
    for nxt in parts[1:]:
        blend, t_blend, moved, t_moved = _blend(prev, nxt)
        joints += [blend, moved]
        times += [t_blend, t_moved]
        spans.append((float(t_moved[0]), float(t_moved[-1])))
        prev = Clip(moved, t_moved, "", "", "")
    return np.concatenate(joints), np.concatenate(times), spans


def kinder_gator_streams(data_root: str | None = None) -> list[LabelledStream]:
    kg = load_dataset("kinder-gator", data_root)
    test = [c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects]
    by = {(c.subject, c.label): c for c in test}
    streams = []
    for i, subject in enumerate(sorted(KINDER_GATOR.test_subjects)):
        for j, normal in enumerate(KG_NORMAL):
            abnormal = KG_ABNORMAL[(i + j) % len(KG_ABNORMAL)]
            if (subject, normal) not in by or (subject, abnormal) not in by:
                continue
            n, a = by[(subject, normal)], by[(subject, abnormal)]
            joints, times, spans = stitch([n, a, n])
            support = tuple(c for c in test if c.label == normal and c.subject != subject)[:SHOTS]
            streams.append(
                LabelledStream(
                    f"kg:{subject}:{normal}->{abnormal}", joints, times, normal,
                    (spans[1],), (spans[0], spans[2]), support,
                )
            )  # fmt: skip
    return streams


def utkinect_streams(data_root: str | None = None) -> list[LabelledStream]:
    recordings = load_utkinect_recordings(resolve_data_root(data_root))
    segments = [(r, s) for r in recordings for s in r.segments]
    streams = []
    for rec in recordings:
        t0 = rec.times[0]
        for label in sorted({s.label for s in rec.segments}):
            support: list[Clip] = []
            for other, seg in segments:
                if other.subject != rec.subject and seg.label == label and len(support) < SHOTS:
                    inside = (other.times >= seg.start_s) & (other.times <= seg.end_s)
                    support.append(
                        Clip(
                            other.joints[inside],
                            other.times[inside],
                            label,
                            other.subject,
                            f"{other.name}:{label}",
                        )
                    )
            streams.append(
                LabelledStream(
                    f"utk:{rec.name}:{label}", rec.joints, rec.times - t0, label,
                    tuple((s.start_s - t0, s.end_s - t0) for s in rec.segments if s.label != label),
                    tuple((s.start_s - t0, s.end_s - t0) for s in rec.segments if s.label == label),
                    tuple(support),
                )
            )  # fmt: skip
    return streams


def frames_of(stream: LabelledStream, stream_id: str = "eval") -> Iterator[SkeletonFrame]:
    visibility = np.ones(NUM_JOINTS, np.float32)
    for seq, (j, t) in enumerate(zip(stream.joints, stream.times, strict=True)):
        yield SkeletonFrame(stream_id, seq, float(t), j, visibility, time.time())


@dataclass
class StreamRun:
    windows: list[tuple[float, float, float]]  # (t_start, t_end, score / threshold)
    opened: list[EpisodeEvent]
    closed: list[EpisodeEvent]


def replay(stream: LabelledStream, profile: Profile, backend: EncoderBackend, cfg: WorkerConfig) -> StreamRun:
    """Push the stream's frames through a pipeline with one profile, in time order."""
    pipeline = Pipeline(cfg, backend, [profile], clock=_FrozenClock())
    run = StreamRun([], [], [])

    def take(batches: Sequence[Any]) -> None:
        for b in batches:
            for w, s in zip(b.windows, b.scores[:, 0], strict=True):
                run.windows.append((w.t_start, w.t_end, float(s) / profile.threshold))
            run.opened += [e for e in b.events if e.kind == "opened"]
            run.closed += [e for e in b.events if e.kind == "closed"]

    for i, frame in enumerate(frames_of(stream)):
        pipeline.push(frame)
        if i % 64 == 63:
            take(pipeline.run_due(flush=True))
    take(pipeline.run_due(flush=True))
    tail = pipeline.close_all()
    run.closed += [e for e in tail if e.kind == "closed"]
    return run


STREAM_SETS: dict[str, Callable[[str | None], list[LabelledStream]]] = {
    "kinder-gator": kinder_gator_streams,
    "utkinect": utkinect_streams,
}


class _FrozenClock:
    """Replays run faster than real time: batching is forced with ``flush``, so time can stand still."""

    def __call__(self) -> float:
        return 0.0


def _inside(t: np.ndarray, intervals: Sequence[Interval]) -> np.ndarray:
    out = np.zeros(len(t), dtype=bool)
    for a, b in intervals:
        out |= (t >= a) & (t <= b)
    return out


def frame_scores(run: StreamRun, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame times on a ``fps`` grid and the mean normalised score of the windows covering each."""
    if not run.windows:
        return np.zeros(0), np.zeros(0)
    w = np.array(run.windows)
    grid = np.arange(w[:, 0].min(), w[:, 1].max(), 1 / fps)
    total, count = np.zeros(len(grid)), np.zeros(len(grid))
    for t0, t1, s in w:
        sel = (grid >= t0) & (grid <= t1)
        total[sel] += s
        count[sel] += 1
    keep = count > 0
    return grid[keep], total[keep] / count[keep]


def _overlap(t0: float, t1: float, intervals: Sequence[Interval]) -> float:
    return sum(max(0.0, min(t1, b) - max(t0, a)) for a, b in intervals)


def abnormal_shares(run: StreamRun, stream: LabelledStream, min_labelled: float = 0.75) -> np.ndarray:
    """``(n, 2)``: each window's abnormal share of its labelled time and its normalised score, for
    windows with at least ``min_labelled`` of their span labelled (blends and unannotated gaps are
    neither normal nor abnormal)."""
    rows = []
    for t0, t1, s in run.windows:
        abnormal, normal = _overlap(t0, t1, stream.abnormal), _overlap(t0, t1, stream.normal)
        if abnormal + normal >= min_labelled * (t1 - t0) and abnormal + normal > 0:
            rows.append((abnormal / (abnormal + normal), s))
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def share_table(shares: np.ndarray, eps: float = 1e-6) -> list[dict[str, Any]]:
    """Per bin of abnormal share (wholly normal, four quarters, wholly abnormal): window count, median
    normalised score, share of windows over the threshold (score / threshold > 1)."""
    a = np.clip(shares[:, 0], 0.0, 1.0)
    a = np.where(a < eps, 0.0, np.where(a > 1 - eps, 1.0, a))
    bins = [("0", a == 0.0)]
    bins += [(f"{lo:g}-{hi:g}", (a > lo) & (a <= hi) & (a < 1.0)) for lo, hi in SHARE_QUARTERS]
    bins += [("1", a == 1.0)]
    out = []
    for name, sel in bins:
        s = shares[sel, 1]
        out.append(
            {
                "abnormal_share": name,
                "windows": int(sel.sum()),
                "median_score": float(np.median(s)) if len(s) else None,
                "over_threshold": float(np.mean(s > 1.0)) if len(s) else None,
            }
        )
    return out


def evaluate_streams(
    streams: Sequence[LabelledStream],
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    augmentation: Augmentation | None = None,
    on_run: Callable[[LabelledStream, StreamRun], None] | None = None,
) -> dict[str, Any]:
    """``on_run(stream, run)``: called after each replay (e.g. to plot it)."""
    profiles: dict[tuple[str, ...], Profile] = {}  # streams with the same support share a profile
    per_stream: list[dict[str, Any]] = []
    pooled_scores: list[np.ndarray] = []
    pooled_labels: list[np.ndarray] = []
    tp = fp = covered = exactly_one = n_abnormal = 0
    delays: list[float] = []
    normal_alerts = 0
    shares: list[np.ndarray] = []
    for stream in streams:
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            clips = [EnrolClip(c.name, c.joints, c.times) for c in stream.support]
            profiles[key] = build_profile(
                "eval", clips, backend, calibration=cfg.calibration, augmentation=augmentation
            )
        run = replay(stream, profiles[key], backend, cfg)
        if on_run is not None:
            on_run(stream, run)
        shares.append(abnormal_shares(run, stream))
        t, s = frame_scores(run, backend.spec.fps)
        abnormal, normal = _inside(t, stream.abnormal), _inside(t, stream.normal)
        labelled = abnormal | normal
        auc = roc_auc(s[labelled], abnormal[labelled]) if abnormal.any() and normal.any() else None
        pooled_scores.append(s[labelled])
        pooled_labels.append(abnormal[labelled])
        episodes = [(e.episode.start, e.episode.end) for e in run.closed]
        for a, b in episodes:
            hit = any(a <= y and b >= x for x, y in stream.abnormal)
            tp += hit
            fp += not hit
            normal_alerts += (not hit) and any(a <= y and b >= x for x, y in stream.normal)
        for x, y in stream.abnormal:
            n_abnormal += 1
            overlapping = [(a, b) for a, b in episodes if a <= y and b >= x]
            covered += bool(overlapping)
            exactly_one += len(overlapping) == 1
            opens = sorted(e.episode.end for e in run.opened if e.episode.end >= x and e.episode.start <= y)
            if opens:
                delays.append(max(0.0, opens[0] - x))
        per_stream.append({"stream": stream.name, "frame_auc": auc, "alerts": len(episodes)})
    aucs = [float(p["frame_auc"]) for p in per_stream if p["frame_auc"] is not None]
    all_scores, all_labels = np.concatenate(pooled_scores), np.concatenate(pooled_labels)
    return {
        "streams": len(streams),
        "frame_auc_mean": float(np.mean(aucs)) if aucs else None,
        "frame_auc_pooled": roc_auc(all_scores, all_labels)
        if all_labels.any() and not all_labels.all()
        else None,
        "alerts": tp + fp,
        "alert_precision": tp / (tp + fp) if tp + fp else None,
        "alert_recall": covered / n_abnormal if n_abnormal else None,
        "abnormal_parts": n_abnormal,
        "abnormal_parts_with_exactly_one_alert": exactly_one,
        "false_alerts_in_normal_parts": normal_alerts,
        "delay_s": {"median": float(np.median(delays)), "p90": float(np.percentile(delays, 90))}
        if delays
        else None,
        "windows_by_abnormal_share": share_table(np.concatenate(shares)),
        "per_stream": per_stream,
    }


def run_stream_eval(
    dataset: str,
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    data_root: str | None = None,
    augmentation: Augmentation | None = None,
    out: Path | None = None,
    on_run: Callable[[LabelledStream, StreamRun], None] | None = None,
) -> dict[str, Any]:
    streams = STREAM_SETS
    if dataset not in streams:
        raise ValueError(f"unknown stream dataset {dataset!r}: use kinder-gator or utkinect")
    summary = {
        "dataset": dataset,
        "model_version": backend.model_version,
        "augmentation": augmentation.settings() if augmentation is not None else None,
        **evaluate_streams(
            streams[dataset](data_root), backend, cfg, augmentation=augmentation, on_run=on_run
        ),
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"stream_{dataset}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
