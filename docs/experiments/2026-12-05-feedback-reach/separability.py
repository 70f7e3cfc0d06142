"""How well does a marked alert's action tell other people's repeats of it from other actions?

For every recording of a stream set, its first alert on an abnormal part is marked as
``haad eval stream --feedback 1`` does (evaluation/feedback.py: the windows still_abnormal keeps),
and the recording is spliced with each other person's performance of the same label (repeats) and
with ``--unmarked`` other abnormal parts spread over the set (unmarked actions). For each probe, at
the window scale (3 s) and at the short scale (every window's last 1 s), the probe's hot windows
(over the enrolled profile's threshold, inside its abnormal part) are compared with the marked ones
(distances in units of that scale's threshold):

* ``per window``: each hot window's distance to its nearest marked window, pooled (what a radius
  around marked windows decides on; AUC of repeats' windows against unmarked actions' windows);
* per probe: the largest / median of those (all hot windows must be absorbed for a probe to stop
  alerting), the nearest for the probe's most abnormal window (its core), the marked core's
  nearest probe window (the other direction), and the smallest share of absorbed hot windows
  among the last 12 (the stretch as a set);
* ``whole action``: each abnormal part re-timed into one window, and its middle 1 s: same label
  against different label, other people only (per query, averaged), and 1-NN accuracy.

AUC: the chance a repeat lies nearer the marked action than an unmarked action (1: a radius
separates them perfectly; 0.5: not at all); ``within``: the same inside each marked recording.

    .venv/bin/python docs/experiments/2026-12-05-feedback-reach/separability.py --dataset kinder-gator
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import numpy as np
import torch

from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.feedback import action_windows, still_abnormal
from edge.scoring import Scorer
from edge.short_scale import crop_frames, short_profile
from evaluation.feedback import _marked_events, _segment, spliced
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS, LabelledStream
from models.preprocess import clip_frames, crop_windows, cut_windows, normalise_windows, retime
from models.scoring import pairwise_distances

STRETCH = 12  # windows: 3 s at the live stride


def auc(near: np.ndarray, far: np.ndarray) -> float:
    near, far = np.asarray(near, float), np.asarray(far, float)
    if not len(near) or not len(far):
        return float("nan")
    return float((near[:, None] < far[None]).mean() + 0.5 * (near[:, None] == far[None]).mean())


def probe_windows(stream: LabelledStream, spec, stride: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Normalised windows every ``stride`` frames of a recording, and each one's end time."""
    rec = stream.recording
    frames = clip_frames(rec.joints, rec.times, spec)
    w = cut_windows(frames, replace(spec, clip_stride=stride))
    ends = rec.times[0] + (np.arange(len(w)) * stride + spec.frames - 1) / spec.fps
    return normalise_windows(w, spec), ends


def stretch_share(hot: np.ndarray, absorbed: np.ndarray) -> float:
    """The smallest share of absorbed hot windows among the last ``STRETCH`` at a hot window left
    unabsorbed (1: every hot window absorbed)."""
    worst = 1.0
    for t in np.flatnonzero(hot & ~absorbed):
        lo = max(0, t - STRETCH + 1)
        worst = min(worst, absorbed[lo : t + 1].sum() / hot[lo : t + 1].sum())
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="kinder-gator")
    ap.add_argument("--unmarked", type=int, default=6, help="unmarked actions per marked recording")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = WorkerConfig()
    backend = make_backend(cfg.backend)
    spec = backend.spec
    crop_n = crop_frames(cfg.short_window_s, spec)
    streams = STREAM_SETS[args.dataset](None)
    donors = [(s, i) for s in streams for i in range(len(s.abnormal)) if s.label_of(i)]
    profiles: dict[tuple[str, ...], tuple] = {}
    probes = []
    for stream in streams:
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            p = build_profile("eval", stream.support, backend, calibration=cfg.calibration,
                              min_segment_s=cfg.min_segment_s)  # fmt: skip
            profiles[key] = (p, short_profile(p, backend, cfg.calibration, cfg.short_window_s))
        profile, short = profiles[key]
        marked = _marked_events(replay(stream, profile, backend, cfg), stream, 1)
        if not marked:
            continue
        event, part = marked[0]
        raw = action_windows(
            np.stack([w.frames for w in event.episode.windows]),
            np.array([(w.t_start, w.t_end) for w in event.episode.windows]),
            spec,
            cfg.stride,
        )
        kept = normalise_windows(
            still_abnormal(raw, profile, backend, spec=spec, reach=cfg.feedback_reach), spec
        )
        scales = {}
        for name, prof, windows in (
            ("window", profile, kept),
            ("crop", short, crop_windows(kept, crop_n, spec, 5)),
        ):
            emb = backend.embed(windows)
            scorer = Scorer([prof])
            enrolled = scorer.score(emb)[:, 0] / prof.threshold
            scales[name] = (prof, scorer, emb[enrolled > 1.0] if (enrolled > 1.0).any() else emb, enrolled)
        label = stream.label_of(part)
        others = [d for d in donors if d[0] is not stream and d[0].recording is not stream.recording]
        repeats = [d for d in others if d[0].label_of(d[1]) == label]
        unmarked = [d for d in others if d[0].label_of(d[1]) != label]
        pick = np.linspace(0, len(unmarked) - 1, min(args.unmarked, len(unmarked))).round().astype(int)
        for kind, group in (
            ("repeat", repeats),
            ("unmarked", [unmarked[i] for i in pick] if unmarked else []),
        ):
            for donor in group:
                probe = spliced(stream, part, donor)
                windows, ends = probe_windows(probe, spec, cfg.stride)
                x, y = probe.abnormal[0]
                row: dict = {"kind": kind, "stream": stream.name}
                for name, (prof, scorer, marked_emb, marked_enrolled) in scales.items():
                    span = spec.frames / spec.fps if name == "window" else crop_n / spec.fps
                    inside = (ends >= x) & (ends - span <= y)
                    w = windows[inside] if name == "window" else crop_windows(windows[inside], crop_n, spec)
                    emb = backend.embed(w)
                    hot = scorer.score(emb)[:, 0] / prof.threshold > 1.0
                    d = pairwise_distances(emb, marked_emb) / prof.threshold  # (probe windows, marked)
                    near = d.min(axis=1)
                    enrolled = scorer.score(emb)[:, 0]
                    # the marked windows kept are the hot ones, most abnormal first: its 10 most abnormal
                    core_marked = (
                        np.argsort(-marked_enrolled[marked_enrolled > 1.0])[:10]
                        if (marked_enrolled > 1.0).any()
                        else np.arange(min(10, d.shape[1]))
                    )
                    h = near[hot] if hot.any() else np.array([0.0])
                    row[name] = {
                        "windows": h.tolist(),
                        "largest": float(h.max()), "median": float(np.median(h)),
                        "core": float(near[np.argmax(enrolled)]),
                        "marked core found": float(d[:, core_marked].min(axis=0).max()),
                        "stretch share": -stretch_share(hot, hot & (near <= 1.0)),
                    }  # fmt: skip
                probes.append(row)
    result: dict = {
        "dataset": args.dataset,
        "probes": {k: sum(p["kind"] == k for p in probes) for k in ("repeat", "unmarked")},
    }
    for name in ("window", "crop"):
        rep = [p for p in probes if p["kind"] == "repeat"]
        un = [p for p in probes if p["kind"] == "unmarked"]
        out = {"per window": round(auc(np.concatenate([p[name]["windows"] for p in rep]),
                                       np.concatenate([p[name]["windows"] for p in un])), 3)}  # fmt: skip
        for stat in ("largest", "median", "core", "marked core found", "stretch share"):
            within = [auc([p[name][stat] for p in rep if p["stream"] == s], [p[name][stat] for p in un if p["stream"] == s])
                      for s in sorted({p["stream"] for p in probes})]  # fmt: skip
            out[stat] = {"auc": round(auc([p[name][stat] for p in rep], [p[name][stat] for p in un]), 3),
                         "within": round(float(np.nanmean(within)), 3)}  # fmt: skip
        result[name] = out
    # whole actions: each labelled abnormal part re-timed into one window, and its middle second
    labels, owners, whole, middle = [], [], [], []
    for s, i in donors:
        segment = _segment(s.recording, s.abnormal[i])
        frames = clip_frames(segment.joints, segment.times, spec)
        mid = len(frames) // 2
        piece = frames[max(0, mid - crop_n // 2) : mid + crop_n // 2]
        whole.append(normalise_windows(retime(frames[None], spec.frames), spec)[0])
        middle.append(normalise_windows(retime(piece[None], spec.frames), spec)[0])
        labels.append(s.label_of(i))
        owners.append(id(s.recording))
    lab, own = np.array(labels), np.array(owners)
    for name, w in (("whole action", whole), ("middle 1 s of the action", middle)):
        emb = backend.embed(np.stack(w))
        d = pairwise_distances(emb, emb)
        aucs, hits = [], []
        for q in range(len(lab)):
            other = own != own[q]
            same = lab[other] == lab[q]
            if same.any() and (~same).any():
                aucs.append(auc(d[q, other][same], d[q, other][~same]))
                hits.append(lab[other][np.argmin(d[q, other])] == lab[q])
        result[name] = {"auc": round(float(np.mean(aucs)), 3), "1-NN accuracy": round(float(np.mean(hits)), 3),
                        "actions": len(lab), "labels": len(set(labels))}  # fmt: skip
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
