# ruff: noqa: T201  (a scratch report: it prints)
"""usage: window_report.py SKELETONS.npz OUT.json. Per-window analysis of vtest's walking-profile replay (evaluation/vtest_walk.walking_profile_run,
instrumented): every scored window's score and what its frames looked like."""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np
from person_boxes import PersonBoxes  # this folder's; run as a script, its folder is on sys.path

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from evaluation.vtest_walk import enrol_walking, load_frames, score_rest

path = sys.argv[1]
out = sys.argv[2]
frames = load_frames(path)
cfg = WorkerConfig()
backend = make_backend(OnnxRuntimeConfig())
clips, profile = enrol_walking(frames, cfg=cfg, backend=backend)
print("enrol clips", len(clips), "people", len({c.subject for c in clips}), "threshold", profile.threshold)
print("clip lengths s", sorted(round(float(c.times[-1] - c.times[0]), 1) for c in clips))
_, batches, closing = score_rest(frames, profile, backend, cfg)
boxes = PersonBoxes(frames)

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
        w.update(boxes.window_info(w["person"], w["t_start"], w["t_end"]))
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
