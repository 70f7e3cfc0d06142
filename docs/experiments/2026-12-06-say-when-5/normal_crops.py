"""Issue 24 (5): how often each 1 s crop ratio is over its own threshold on normal parts of people the
profile was not enrolled from (crops wholly inside a normal part), for the encoder (e) and the
kinematic score (r), and the profile's kinematic weight; the columns: set, crops, share over (e, r), median (e / r), 95th
percentile (e / r), mean weight; today's rule (no kinematic term in alerts).

    PYTHONPATH=. python docs/experiments/2026-12-06-say-when-5/normal_crops.py SET ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from config.edge import EdgeConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS

cfg = EdgeConfig()
w = cfg.worker
backend = make_backend(w.backend, Path(cfg.encoder) if cfg.encoder else None)
for dataset in sys.argv[1:]:
    e, r, a = [], [], []
    profiles = {}
    for s in STREAM_SETS[dataset](None):
        key = (s.normal_label, *(c.name for c in s.support))
        if key not in profiles:
            profiles[key] = build_profile("eval", s.support, backend, calibration=w.calibration,
                                          min_segment_s=w.min_segment_s)  # fmt: skip
        run = replay(s, profiles[key], backend, w)
        inside = [any(x <= t0 and t1 <= y for x, y in s.normal) for t0, t1, _ in run.crops]
        e += [c[2] for c, i in zip(run.crops, inside, strict=True) if i]
        r += [k[2] for k, i in zip(run.kinematic, inside, strict=True) if i]
        a.append(run.kinematic_weight)
    e, r = np.array(e), np.array(r)
    sys.stdout.write(
        f"| {dataset} | {len(e)} | {np.mean(e > 1):.3f} | {np.mean(r > 1):.3f} | "
        f"{np.median(e):.2f} / {np.median(r):.2f} | {np.quantile(e, 0.95):.2f} / {np.quantile(r, 0.95):.2f} | "
        f"{np.mean(a):.2f} |\n"
    )
    sys.stdout.flush()
