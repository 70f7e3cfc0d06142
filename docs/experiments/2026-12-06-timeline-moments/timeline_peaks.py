"""Where an alert's stored timeline peaks, against the abnormal action it caught: each window's
score at the moment it is about (now) or at the window's middle (before).

    python docs/experiments/2026-12-06-timeline-moments/timeline_peaks.py kinder-gator-short

Per closed episode that overlaps an abnormal part: the distance from the timeline's peak to that
part (0 inside it), now, and with every point moved back to its window's middle.
"""

from __future__ import annotations

import sys

import numpy as np

from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS


def off(t: float, part: tuple[float, float]) -> float:
    return max(part[0] - t, 0.0, t - part[1])


cfg = WorkerConfig()
backend = make_backend(cfg.backend)
now, before = [], []
for stream in STREAM_SETS[sys.argv[1]](None):
    profile = build_profile("normal", stream.support, backend, calibration=cfg.calibration)
    run = replay(stream, profile, backend, cfg)
    rows = [
        (t0, t1, f, c > w)
        for (t0, t1, f), (_, _, c), (_, _, w) in zip(run.windows, run.crops, run.full, strict=True)
    ]
    for e in run.closed:
        ep = e.episode
        parts = [p for p in stream.abnormal if p[0] < ep.end and p[1] > ep.start]
        if not parts:
            continue
        inside = [r for r in rows if ep.start <= r[0] and r[1] <= ep.end]  # first to last hot window
        t0, t1, _, crop = max(inside, key=lambda r: r[2])
        middle = (t0 + t1) / 2
        now.append(min(off(t1 - cfg.short_window_s / 2 if crop else middle, p) for p in parts))
        before.append(min(off(middle, p) for p in parts))
for name, d in (("now", now), ("window middles", before)):
    d = np.array(d)
    sys.stdout.write(
        f"{name:15s} episodes {len(d)}  peak outside the action {np.mean(d > 0):.2f}  "
        f"mean {np.mean(d):.2f} s  median {np.median(d):.2f} s  p90 {np.percentile(d, 90):.2f} s\n"
    )
