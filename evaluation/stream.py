"""``haad eval stream``: the live path on labelled recordings, frame by frame and alert by alert.

Each labelled stream (:mod:`evaluation.stream_sets`, :mod:`evaluation.recordings`) is replayed
through the worker's own :class:`~edge.pipeline.Pipeline` (windows, batching, encoder, scores, alert
episodes) against a profile enrolled from *other* people's clips of the stream's normal behaviour,
exactly as ``haad enroll`` would build it, or against a given profile. The same replay runs a
second time with the raw-DCT scorer (:mod:`evaluation.raw_dct`): the very same windows, their 10
lowest DCT coefficients scored by the same rule against the same support windows, calibrated the same way,
through the same episodes; every figure is reported for both.

Metrics, per scorer (docs/benchmark.md): the realised false-alarm rate (the share of windows wholly
inside one normal part that score above the threshold, beside the target the profiles were
calibrated for) and
false alerts per hour of normal time; per recording, whether any alert fired; frame-level AUC (a frame's score is the centre-weighted mean score of the
windows covering it, divided by the profile's threshold so streams can be pooled; with the short
scale on, fused with that of the covering crops' and their kinematic score by
``edge.short_scale.moment_scores``),
per-stream mean AUC; alert level: an alert (episode) is a true positive when its windows overlap an abnormal part;
recall is
the share of abnormal parts overlapped by an alert, also by the part's duration (<1 s, 1-2 s, 2-3 s,
>3 s); delay is from the start of an abnormal part to the end of the window that opened its first
alert; and how many abnormal parts got exactly one alert; boundary errors: for each true positive,
the span it reports (``Episode.action_span``, what the alert store gets) against the parts it
overlaps, |alert start - start of the first| and |alert end - end of the last| (median, p90; the
signed medians too: negative is early). Window level: the windows' normalised
scores binned by the share of the window that lies in an abnormal part, i.e. how much abnormal
motion a window must hold before it crosses the threshold.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bus.messages import SkeletonFrame
from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import Augmentation, build_profile, reembed
from edge.episodes import Episode, EpisodeEvent
from edge.pipeline import Pipeline, ScoredBatch
from edge.profiles import Profile
from edge.short_scale import moment_scores
from edge.vigour import SECOND_S
from evaluation.fewshot import roc_auc
from evaluation.recordings import read_recording_set
from evaluation.stream_sets import STREAM_SETS, Interval, LabelledStream
from pose_frontend.process import skeleton_pose
from pose_frontend.rate import RateGate

SHARE_QUARTERS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
DURATION_BINS = (("<1 s", 0.0, 1.0), ("1-2 s", 1.0, 2.0), ("2-3 s", 2.0, 3.0), (">3 s", 3.0, math.inf))
ENCODER, RAW_DCT = "encoder", "raw-dct"


def frames_of(stream: LabelledStream, stream_id: str = "eval") -> Iterator[SkeletonFrame]:
    """The recording's frames as a single-person frontend replaying it publishes them: a frame
    without any measured joint (nobody in view, or too little seen in a recording-set file) is a
    frame without a person, not a missing frame, so its time never reads as a hole in the stream."""
    rec = stream.recording
    for seq, (j, t) in enumerate(zip(rec.joints, rec.times, strict=True)):
        joints, visibility = skeleton_pose(j)
        yield SkeletonFrame(stream_id, seq, float(t), joints, visibility, time.time())


@dataclass
class StreamRun:
    windows: list[tuple[float, float, float]]  # (t_start, t_end, score / threshold)
    opened: list[EpisodeEvent]
    closed: list[EpisodeEvent]
    short_windows: int = 0  # windows of segments shorter than a window (edge/segments.py)
    crops: list[tuple[float, float, float]] = field(default_factory=list)  # the short scale's, as windows
    full: list[tuple[float, float, float]] = field(default_factory=list)  # with crops: windows unfused
    kinematic: list[tuple[float, float, float]] = field(default_factory=list)  # the crops' raw-DCT ratio
    kinematic_weight: float = 0.0  # its weight in a moment's score (edge.short_scale.kinematic_weight)
    vigour_reference: float | None = None  # the profile's most vigorous normal second (edge/vigour.py)
    segments: dict[str, int] = field(default_factory=dict)  # ended segments by outcome


def replay(
    stream: LabelledStream,
    profile: Profile,
    backend: EncoderBackend,
    cfg: WorkerConfig,
    make_pipeline: Callable[..., Pipeline] = Pipeline,
) -> StreamRun:
    """Push the stream's frames through a pipeline with one profile, in time order; the stream ends
    with the recording (its last segment's windows are scored). ``make_pipeline``: an experiment's
    pipeline in place of the worker's (evaluation/short_scale.py)."""
    pipeline = make_pipeline(cfg, backend, [profile], clock=_FrozenClock(), kinematic=True)
    run = StreamRun([], [], [])
    if pipeline.kinematic_scorer is not None:
        run.kinematic_weight = float(pipeline.kinematic_weights[0])
    if cfg.vigour_factor > 0 and np.isfinite(pipeline.vigour_references[0]):
        run.vigour_reference = round(float(pipeline.vigour_references[0]), 4)

    def take(batches: Sequence[ScoredBatch]) -> None:
        for b in batches:
            # a growing segment's window speaks for its last second alone (its vigour, edge/vigour.py)
            for w, s in zip(b.windows, b.scores[:, 0], strict=True):
                if not w.growing:
                    run.windows.append((w.t_start, w.t_end, float(s) / profile.threshold))
            if b.crops is not None and b.full is not None:
                crop_s = cfg.short_window_s
                for w, r, f in zip(b.windows, b.crops[:, 0], b.full[:, 0], strict=True):
                    last = SECOND_S if w.growing else crop_s
                    run.crops.append((max(w.t_start, w.t_end - last), w.t_end, float(r)))
                    if not w.growing:
                        run.full.append((w.t_start, w.t_end, float(f)))
            if b.kinematic is not None:
                for w, k in zip(b.windows, b.kinematic[:, 0], strict=True):
                    if not w.growing:
                        run.kinematic.append(
                            (max(w.t_start, w.t_end - cfg.short_window_s), w.t_end, float(k))
                        )
            run.opened += [e for e in b.events if e.kind == "opened"]
            run.closed += [e for e in b.events if e.kind == "closed"]

    for i, frame in enumerate(frames_of(stream)):
        pipeline.push(frame)
        if i % 64 == 63:
            take(pipeline.run_due(flush=True))
    pipeline.finish_streams()
    take(pipeline.run_due(flush=True))
    run.closed += [e for e in pipeline.close_all() if e.kind == "closed"]
    run.short_windows = pipeline.stats.short_windows
    run.segments = {k: v for w in pipeline.windows.values() for k, v in w.segments.items()}
    return run


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
    """Frame times on a ``fps`` grid and the centre-weighted mean normalised score of the windows
    covering each; with the short scale on, that of the windows' own (unfused) score combined with
    those of the covering crops (and their kinematic score) by the product's rule
    (:func:`edge.short_scale.moment_scores`; frames no crop covers, a stream's first seconds:
    windows only)."""
    if not run.windows:
        return np.zeros(0), np.zeros(0)
    w = np.array(run.windows)
    grid = np.arange(w[:, 0].min(), w[:, 1].max(), 1 / fps)
    if run.crops:
        full, crops = _covering_mean(grid, np.array(run.full)), _covering_mean(grid, np.array(run.crops))
        kinematic = _covering_mean(grid, np.array(run.kinematic)) if run.kinematic else None
        score = moment_scores(full, crops, kinematic, run.kinematic_weight)
    else:
        score = _covering_mean(grid, w)
    keep = np.isfinite(score)
    return grid[keep], score[keep]


def _covering_mean(grid: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Each frame's mean of the spans ``(t0, t1, score)`` covering it, each weighted by how near the
    frame is to its centre (1 there, falling linearly to 0.05 at its ends, so a frame that only span
    ends cover still has a score): a span says most about its middle, a crop about the middle of
    its second (docs/experiments/2026-12-06-say-when-4.md); NaN where none covers it."""
    total, weight = np.zeros(len(grid)), np.zeros(len(grid))
    for t0, t1, s in spans:
        sel = (grid >= t0) & (grid <= t1)
        half = max((t1 - t0) / 2, 1e-9)
        w = np.maximum(1.0 - np.abs(grid[sel] - (t0 + t1) / 2) / half, 0.05)
        total[sel] += w * s
        weight[sel] += w
    with np.errstate(invalid="ignore"):
        return np.where(weight > 0, total / np.maximum(weight, 1e-12), np.nan)


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


def boundary_errors(episodes: Sequence[Episode], abnormal: Sequence[Interval]) -> list[tuple[float, float]]:
    """For each alert whose windows overlap abnormal parts: (the start it reports - start of the first
    part, the end it reports - end of the last), seconds; a burst of parts under one alert is one action."""
    out = []
    for ep in episodes:
        hit = sorted((x, y) for x, y in abnormal if ep.start <= y and ep.end >= x)
        if hit:
            start, end = ep.action_span
            out.append((start - hit[0][0], end - max(y for _, y in hit)))
    return out


def _alert_span(episode: Episode, abnormal: Sequence[Interval]) -> dict[str, Any]:
    """One alert as a recording's row gives it: the span of its windows (what must overlap an abnormal
    part for a true positive), the action span it reports (what the alert store gets) and whether
    it is a true positive."""
    a, b = episode.start, episode.end
    return {
        "windows": [round(a, 3), round(b, 3)],
        "action": [round(t, 3) for t in episode.action_span],
        "abnormal": any(a <= y and b >= x for x, y in abnormal),
    }


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    return {"median": float(np.median(values)), "p90": float(np.percentile(values, 90))} if values else None


def duration_bin(seconds: float) -> str:
    return next(name for name, lo, hi in DURATION_BINS if lo <= seconds < hi)


def summarise(
    streams: Sequence[LabelledStream], runs: Sequence[StreamRun], fps: float, target_far: float | None = None
) -> dict[str, Any]:
    """Every figure of one scorer over all streams (module docstring); ``per_stream`` too."""
    per_stream: list[dict[str, Any]] = []
    pooled_scores: list[np.ndarray] = []
    pooled_labels: list[np.ndarray] = []
    tp = fp = covered = exactly_one = n_abnormal = normal_alerts = 0
    by_duration = {name: [0, 0] for name, _, _ in DURATION_BINS}  # parts, covered
    delays: list[float] = []
    boundaries: list[tuple[float, float]] = []
    shares: list[np.ndarray] = []
    normal_s = 0.0
    normal_windows: list[np.ndarray] = []  # normalised scores of windows wholly inside a normal part
    for stream, run in zip(streams, runs, strict=True):
        shares.append(abnormal_shares(run, stream))
        normal_s += sum(b - a for a, b in stream.normal)
        quiet = np.array(
            [r for t0, t1, r in run.windows if any(a <= t0 and t1 <= b for a, b in stream.normal)]
        )
        normal_windows.append(quiet)
        t, s = frame_scores(run, fps)
        abnormal, normal = _inside(t, stream.abnormal), _inside(t, stream.normal)
        labelled = abnormal | normal
        auc = roc_auc(s[labelled], abnormal[labelled]) if abnormal.any() and normal.any() else None
        pooled_scores.append(s[labelled])
        pooled_labels.append(abnormal[labelled])
        episodes = [(e.episode.start, e.episode.end) for e in run.closed]  # the windows it is made of
        boundaries += boundary_errors([e.episode for e in run.closed], stream.abnormal)
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
            tally = by_duration[duration_bin(y - x)]
            tally[0] += 1
            tally[1] += bool(overlapping)
            opens = sorted(e.episode.end for e in run.opened if e.episode.end >= x and e.episode.start <= y)
            if opens:
                delays.append(max(0.0, opens[0] - x))
        per_stream.append(
            {
                "stream": stream.name, "subject": stream.recording.subject,
                "seconds": round(stream.recording.duration_s, 3),
                "frame_auc": auc, "alerts": len(episodes), "any_alert": bool(episodes),
                "abnormal_parts": len(stream.abnormal),
                # what an outsider checks an alert against: each part's span and label, each alert's span
                "abnormal_spans": [
                    [round(x, 3), round(y, 3), stream.label_of(k)] for k, (x, y) in enumerate(stream.abnormal)
                ],
                "alert_spans": [_alert_span(e.episode, stream.abnormal) for e in run.closed],
                "normal_window_far": float(np.mean(quiet > 1.0)) if len(quiet) else None,
                "support": [c.name for c in stream.support],
                "kinematic_weight": run.kinematic_weight,
                "vigour_reference": run.vigour_reference,
            }
        )  # fmt: skip
    aucs = [float(p["frame_auc"]) for p in per_stream if p["frame_auc"] is not None]
    table = share_table(np.concatenate(shares) if shares else np.zeros((0, 2)))
    quiet_all = np.concatenate(normal_windows) if normal_windows else np.zeros(0)
    all_scores = np.concatenate(pooled_scores) if pooled_scores else np.zeros(0)
    all_labels = np.concatenate(pooled_labels) if pooled_labels else np.zeros(0, bool)
    return {
        "false_alarm_rate": {
            "target": target_far,
            "normal_windows": int(len(quiet_all)),
            "realised": float(np.mean(quiet_all > 1.0)) if len(quiet_all) else None,
            "false_alerts_per_normal_hour": normal_alerts / (normal_s / 3600) if normal_s else None,
        },
        "streams_without_alert": sum(not p["any_alert"] for p in per_stream),
        "streams_with_abnormal_parts": sum(p["abnormal_parts"] > 0 for p in per_stream),
        "streams_with_abnormal_parts_without_alert": sum(
            not p["any_alert"] and p["abnormal_parts"] > 0 for p in per_stream
        ),
        "frame_auc_mean": float(np.mean(aucs)) if aucs else None,
        "frame_auc_pooled": roc_auc(all_scores, all_labels)
        if all_labels.any() and not all_labels.all()
        else None,
        "alerts": tp + fp,
        "alert_precision": tp / (tp + fp) if tp + fp else None,
        "alert_recall": covered / n_abnormal if n_abnormal else None,
        "alert_recall_by_duration": {
            name: {"parts": n, "recall": c / n if n else None} for name, (n, c) in by_duration.items()
        },
        "abnormal_parts": n_abnormal,
        "abnormal_parts_with_exactly_one_alert": exactly_one,
        "false_alerts_in_normal_parts": normal_alerts,
        "delay_s": _spread(delays),
        "boundary_error_s": {
            "start": _spread([abs(a) for a, _ in boundaries]),
            "end": _spread([abs(b) for _, b in boundaries]),
            "start_signed_median": float(np.median([a for a, _ in boundaries])) if boundaries else None,
            "end_signed_median": float(np.median([b for _, b in boundaries])) if boundaries else None,
        },
        "windows": sum(len(r.windows) for r in runs),
        "short_windows": sum(r.short_windows for r in runs),
        "windows_by_abnormal_share": table,
        "per_stream": per_stream,
    }


def evaluate_streams(
    streams: Sequence[LabelledStream],
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    augmentation: Augmentation | None = None,
    profile: Profile | None = None,
    on_run: Callable[[LabelledStream, StreamRun], None] | None = None,
) -> dict[str, Any]:
    """Replay every stream with the encoder and with the raw-DCT scorer (``on_run(stream, run)`` is
    called after each of the encoder's replays, e.g. to plot it). Each stream's profile is
    enrolled from its support clips (streams with the same support share it), or ``profile`` (a
    enrolled one, re-embedded for each scorer) is used for all. Returns the encoder's figures at the
    top level (with ``per_stream``), the raw-DCT scorer's under ``raw_dct``."""
    scorers: dict[str, EncoderBackend] = {ENCODER: backend, RAW_DCT: RawDctBackend(backend.spec)}
    fixed = {m: reembed(profile, b, cfg.calibration) for m, b in scorers.items()} if profile else {}
    results: dict[str, dict[str, Any]] = {}
    for method, scorer in scorers.items():
        # the baseline is the raw-DCT scorer as it is: vigour (edge/vigour.py) is the product's
        run_cfg = cfg if method == ENCODER else cfg.model_copy(update={"vigour_factor": 0.0})
        profiles: dict[tuple[str, ...], Profile] = {}  # streams with the same support share a profile
        runs = []
        for stream in streams:
            key = (stream.normal_label, *(c.name for c in stream.support))
            if method in fixed:
                profiles[key] = fixed[method]
            elif key not in profiles:
                profiles[key] = build_profile(
                    "eval", stream.support, scorer, calibration=cfg.calibration,
                    augmentation=augmentation, min_segment_s=cfg.min_segment_s,
                )  # fmt: skip
            runs.append(replay(stream, profiles[key], scorer, run_cfg))
            if on_run is not None and method == ENCODER:
                on_run(stream, runs[-1])
        results[method] = summarise(streams, runs, backend.spec.fps, cfg.calibration.target_far)
    encoder, raw = results[ENCODER], results[RAW_DCT]
    for mine, theirs in zip(encoder["per_stream"], raw.pop("per_stream"), strict=True):
        mine["frame_auc_raw_dct"], mine["alerts_raw_dct"] = theirs["frame_auc"], theirs["alerts"]
        mine["any_alert_raw_dct"], mine["alert_spans_raw_dct"] = theirs["any_alert"], theirs["alert_spans"]
    per_stream = encoder.pop("per_stream")
    return {"streams": len(streams), **encoder, "raw_dct": raw, "per_stream": per_stream}


RECORDINGS = "recordings:"  # a recording-set file's summary: its dataset is this and the file's path


def _source(summary: dict[str, Any]) -> str | None:
    """Which stream set a summary is of: a built-in set's name, or a recording-set file's full path;
    None for a file whose folder the summary does not say."""
    if "recordings_file" in summary:
        return str(summary["recordings_file"])
    # written before recordings_file was: a feedback summary named its file by stem alone
    # ("walks"), a stream summary by the path as given, relative to wherever that run was made from
    dataset = str(summary["dataset"])
    if dataset in STREAM_SETS:
        return dataset
    path = Path(dataset.removeprefix(RECORDINGS))
    return str(path.resolve()) if path.is_absolute() else None


def claim_report(path: Path, source: str) -> None:
    """Refuse, before any replay, to write over the report at ``path`` holding another stream set's
    figures: two recording files of one name in different folders (or one named as a built-in set)
    share it, and the second run replaced the first's figures unsaid. Rerunning a set replaces its own,
    and a file (``source`` its full path) replaces a report of before recordings_file that does not
    say which folder its file of that name was in: nothing tells it from a rerun."""
    try:
        held = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or no summary: no figures of another set to lose
        return
    if not isinstance(held, dict) or "dataset" not in held:
        return
    other = _source(held)
    if other == source or (other is None and Path(source).is_absolute()):
        return
    held_by = other or f"a recording file named {Path(str(held['dataset'])).name} (its folder unsaid)"
    raise ValueError(
        f"{path} holds the figures of {held_by}, and those of {source} would be written over them; "
        "give another --out (or remove that file)"
    )


def _claim(out: Path | None, name: str, source: str) -> None:
    if out is not None:
        claim_report(out / f"stream_{name}.json", source)


def _write(summary: dict[str, Any], out: Path | None, name: str) -> dict[str, Any]:
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"stream_{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def at_pose_rate(stream: LabelledStream, pose_fps: float) -> LabelledStream:
    """``stream`` with the frames a frontend at ``pose_fps`` would estimate (pose_frontend/rate.py)."""
    gate = RateGate(pose_fps)
    rec = stream.recording
    keep = np.array([gate.take(float(t)) for t in rec.times])
    labels = None if rec.frame_labels is None else rec.frame_labels[keep]
    return replace(
        stream, recording=replace(rec, joints=rec.joints[keep], times=rec.times[keep], frame_labels=labels)
    )


def run_stream_eval(
    dataset: str,
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    pose_fps: float | None = None,
    data_root: str | None = None,
    augmentation: Augmentation | None = None,
    out: Path | None = None,
    on_run: Callable[[LabelledStream, StreamRun], None] | None = None,
) -> dict[str, Any]:
    """A built-in stream set (``evaluation.stream_sets.STREAM_SETS``), its frames thinned to ``pose_fps``
    as a frontend would (None: all); writes ``stream_<dataset>.json``."""
    if dataset not in STREAM_SETS:
        raise ValueError(f"unknown stream dataset {dataset!r}: use {', '.join(STREAM_SETS)}")
    _claim(out, dataset, dataset)
    streams = STREAM_SETS[dataset](data_root)
    if pose_fps is not None:
        streams = [at_pose_rate(s, pose_fps) for s in streams]
    summary = {
        "dataset": dataset,
        "model_version": backend.model_version,
        "augmentation": augmentation.settings() if augmentation is not None else None,
        "min_segment_s": cfg.min_segment_s,
        "pose_fps": pose_fps,
        **evaluate_streams(streams, backend, cfg, augmentation=augmentation, on_run=on_run),
    }
    return _write(summary, out, dataset)


def run_recordings_eval(
    path: Path,
    normal: Sequence[str],
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    shots: int = 3,
    profile: Profile | None = None,
    augmentation: Augmentation | None = None,
    out: Path | None = None,
    pose_fps: float | None = None,
    on_run: Callable[[LabelledStream, StreamRun], None] | None = None,
) -> dict[str, Any]:
    """A recording-set file (evaluation/recordings.py) whose frames labelled with any of ``normal``
    are normal, enrolling a behaviour per normal label from other subjects' runs of it (``shots`` of
    them) or scoring against ``profile``, its frames thinned to ``pose_fps`` as :func:`run_stream_eval`
    does; writes ``stream_<file stem>.json``, refusing where that holds another set's figures."""
    _claim(out, path.stem, str(path.resolve()))
    recordings = read_recording_set(
        path, normal, shots=shots, spec=backend.spec, min_segment_s=cfg.min_segment_s,
        min_visibility=cfg.min_visibility, enrol=profile is None,
    )  # fmt: skip
    streams = recordings.streams
    if pose_fps is not None:
        streams = [at_pose_rate(s, pose_fps) for s in streams]
    summary = {
        "dataset": f"{RECORDINGS}{path}",
        "recordings_file": str(path.resolve()),  # which file, wherever the run was made from
        "normal": list(normal),
        "enrolment": f"profile {profile.name} v{profile.version}"
        if profile is not None
        else f"longest run of each normal label in {shots} other subjects' recordings",
        "model_version": backend.model_version,
        "augmentation": augmentation.settings() if augmentation is not None else None,
        "min_segment_s": cfg.min_segment_s,
        "pose_fps": pose_fps,
        # never scored: their abnormal parts are in no figure (not counted as missed)
        "left_out_recordings": recordings.left_out,
        **evaluate_streams(streams, backend, cfg, augmentation=augmentation, profile=profile, on_run=on_run),
    }
    return _write(summary, out, path.stem)


def format_table(summary: dict[str, Any]) -> str:
    """Both scorers' headline figures, one row each (markdown)."""

    def f(x: float | None, digits: int = 3) -> str:
        return "–" if x is None else f"{x:.{digits}f}"

    bins = [name for name, _, _ in DURATION_BINS]
    head = "| scorer | frame AUC mean / pooled | alert precision | alert recall | median delay | "
    head += "median \\|start err\\| / \\|end err\\| | "
    head += (
        " | ".join(f"recall {b}" for b in bins)
        + " | normal windows over threshold (target) | silent recordings |"
    )
    lines = [head, "|" + " --- |" * (8 + len(bins))]
    for name, s in ((ENCODER, summary), (RAW_DCT, summary["raw_dct"])):
        by = s["alert_recall_by_duration"]
        delay = s["delay_s"]["median"] if s["delay_s"] else None
        edge = s["boundary_error_s"]
        cells = [
            name,
            f"{f(s['frame_auc_mean'])} / {f(s['frame_auc_pooled'])}",
            f(s["alert_precision"], 2),
            f(s["alert_recall"], 2),
            "–" if delay is None else f"{delay:.1f} s",
            " / ".join("–" if b is None else f"{b['median']:.1f} s" for b in (edge["start"], edge["end"])),
        ]
        cells += [f"{f(by[b]['recall'], 2)} ({by[b]['parts']})" for b in bins]
        far = s["false_alarm_rate"]
        cells.append(f"{f(far['realised'])} ({f(far['target'])})")
        # of the recordings with something to catch: one wholly normal cannot be silent on an action
        cells.append(
            f"{s['streams_with_abnormal_parts_without_alert']} of {s['streams_with_abnormal_parts']}"
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
