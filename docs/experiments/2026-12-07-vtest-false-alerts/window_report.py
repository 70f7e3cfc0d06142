# ruff: noqa: T201  (a scratch report: it prints)
"""usage: window_report.py SKELETONS.npz OUT.json. Per-window analysis of vtest's walking-profile replay (evaluation/vtest_walk.walking_profile_run,
instrumented): every scored window's score and what its frames looked like."""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from evaluation.vtest_walk import ENROL_S, load_frames, track_clips

path = sys.argv[1]
out = sys.argv[2]
frames = load_frames(path)
cfg = WorkerConfig()
backend = make_backend(OnnxRuntimeConfig())
t0 = frames[0].timestamp
clips = track_clips([f for f in frames if f.timestamp - t0 < ENROL_S], cfg.max_gap_s)
profile = build_profile(
    "walking", clips, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
)
print("enrol clips", len(clips), "people", len({c.subject for c in clips}), "threshold", profile.threshold)
print("clip lengths s", sorted(round(float(c.times[-1] - c.times[0]), 1) for c in clips))
pipeline = Pipeline(cfg, backend, [profile], clock=lambda: 0.0)
batches = []
for i, f in enumerate(x for x in frames if x.timestamp - t0 >= ENROL_S):
    pipeline.push(f)
    if i % 64 == 63:
        batches += pipeline.run_due(flush=True)
batches += pipeline.run_due(flush=True)
pipeline.finish_streams()
batches += pipeline.run_due(flush=True)
closing = pipeline.tracker.close_all()

# per person per frame: box, visibility, hip centre
by_person: dict[int, list[tuple[float, tuple, float, np.ndarray]]] = defaultdict(list)
boxes_at: dict[float, list[tuple[int, tuple]]] = defaultdict(list)
for f in frames:
    for p in f.people:
        by_person[p.person_id].append((f.timestamp, p.box, float(np.mean(p.visibility)), p.joints))
        boxes_at[round(f.timestamp, 2)].append((p.person_id, p.box))


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def overlap_of(a, b):  # share of a covered by b
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1])
    return inter / area if area > 0 else 0.0


def window_info(pid, ts, te):
    rows = [r for r in by_person[pid] if ts - 1e-6 <= r[0] <= te + 1e-6]
    if not rows:
        return {}
    hs = [(r[1][3] - r[1][1]) * 576 for r in rows]
    edge = [r[1][0] < 0.01 or r[1][2] > 0.99 or r[1][1] < 0.01 or r[1][3] > 0.99 for r in rows]
    occl = []
    for r in rows:
        others = [b for q, b in boxes_at[round(r[0], 2)] if q != pid]
        occl.append(max([overlap_of(r[1], b) for b in others], default=0.0))
    cx = [(r[1][0] + r[1][2]) / 2 * 768 for r in rows]
    cy = [(r[1][1] + r[1][3]) / 2 * 576 for r in rows]
    jumps = [np.hypot(cx[i + 1] - cx[i], cy[i + 1] - cy[i]) / max(hs[i], 1) for i in range(len(rows) - 1)]
    # box height changes
    hch = [abs(hs[i + 1] - hs[i]) / max(hs[i], 1) for i in range(len(rows) - 1)]
    return {
        "n_frames": len(rows),
        "span": [round(rows[0][0], 1), round(rows[-1][0], 1)],
        "h_px_median": round(float(np.median(hs)), 0),
        "vis_mean": round(float(np.mean([r[2] for r in rows])), 3),
        "edge_share": round(float(np.mean(edge)), 2),
        "occluded_share_50": round(float(np.mean([o > 0.5 for o in occl])), 2),
        "occluded_max": round(float(max(occl)), 2),
        "max_jump_h": round(float(max(jumps, default=0)), 2),
        "max_hchange": round(float(max(hch, default=0)), 2),
        "dx_px": round(cx[-1] - cx[0], 0),
        "dy_px": round(cy[-1] - cy[0], 0),
        "x_px": round(cx[0], 0),
        "y_px": round(cy[0], 0),
    }


windows = []
for b in batches:
    for k, w in enumerate(b.windows):
        windows.append(
            {
                "person": w.person,
                "t_start": round(w.t_start, 2),
                "t_end": round(w.t_end, 2),
                "segment": w.segment,
                "short": w.segment_frames,
                "growing": w.growing,
                "score": float(b.scores[k, 0]),
                "ratio": float(b.scores[k, 0] / profile.threshold),
                "full": None if b.full is None else float(b.full[k, 0]),
                "crop": None if b.crops is None else float(b.crops[k, 0]),
            }
        )
opened = [e for b in batches for e in b.events if e.kind == "opened"] + [
    e for e in closing if e.kind == "opened"
]
print("windows", len(windows), "alerts", len(opened))
alerts = []
for e in opened:
    ep = e.episode
    ws = [
        w
        for w in windows
        if w["person"] == ep.person and w["t_end"] >= ep.start - 1 and w["t_start"] <= ep.end + 1
    ]
    for w in ws:
        w.update(window_info(w["person"], w["t_start"], w["t_end"]))
    alerts.append(
        {
            "person": ep.person,
            "start": ep.start,
            "end": ep.end,
            "peak": ep.peak_score,
            "peak_span": [ep.peak_t_start, ep.peak_t_end],
            "n_hot": ep.n_hot,
            "box_px": [round(v * s) for v, s in zip(ep.box, (768, 576, 768, 576), strict=True)]
            if ep.box
            else None,
            "windows": ws,
        }
    )
# per-person summaries over the rest
per = defaultdict(list)
for w in windows:
    per[w["person"]].append(w["ratio"])
summary = {
    pid: {
        "n": len(r),
        "median_ratio": round(float(np.median(r)), 3),
        "max_ratio": round(float(max(r)), 3),
        "hot": int(sum(x > 1 for x in r)),
    }
    for pid, r in sorted(per.items())
}
ratios = np.array([w["ratio"] for w in windows])
print("share over threshold", float((ratios > 1).mean()), "p95 ratio", float(np.quantile(ratios, 0.95)))
for a in alerts:
    print("ALERT person", a["person"], a["start"], a["end"], "peak", round(a["peak"], 3), "box", a["box_px"])
    for w in a["windows"]:
        print("  ", {k: v for k, v in w.items() if k not in ("person",)})
for pid, s in summary.items():
    print(pid, s)
json.dump(
    {"threshold": profile.threshold, "alerts": alerts, "per_person": summary, "windows": windows},
    open(out, "w"),
    indent=1,
    default=float,
)
