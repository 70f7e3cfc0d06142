"""Experiment (issue 24): frame AUC of nw-ucla-dense with abnormal frames where the person walks (root speed over V m/s,
0.5 s central difference) left out of the metric, beside the set as it is.

    python docs/experiments/2026-12-06-enrolment-variants/walking_frames.py nw-ucla-dense 0.3 0.5 0.7
"""

import sys

import numpy as np

from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from evaluation.fewshot import roc_auc
from evaluation.stream import _inside, frame_scores, replay
from evaluation.stream_sets import STREAM_SETS
from models.skeleton import ROOT


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


cfg = WorkerConfig()
be = make_backend(cfg.backend)
V = [float(v) for v in sys.argv[2:]] or [0.3, 0.5]
out = {v: [] for v in [None] + V}
share = {v: [] for v in V}
for s in STREAM_SETS[sys.argv[1]](None):
    p = build_profile("e", s.support, be, calibration=cfg.calibration)
    run = replay(s, p, be, cfg)
    t, sc = frame_scores(run, be.spec.fps)
    rec = s.recording
    r = rec.joints[:, ROOT][:, [0, 2]]
    rt = rec.times
    rx = np.interp(t, rt, r[:, 0])
    rz = np.interp(t, rt, r[:, 1])
    k = max(1, int(0.25 * be.spec.fps))
    sp = np.zeros_like(t)
    sp[k:-k] = np.hypot(rx[2 * k :] - rx[: -2 * k], rz[2 * k :] - rz[: -2 * k]) / (t[2 * k :] - t[: -2 * k])
    nm = _inside(t, s.normal)
    ab = _inside(t, s.abnormal)
    out[None].append(roc_auc(sc[nm | ab], ab[nm | ab]))
    for v in V:
        keep = ab & (sp < v)
        share[v].append(1 - keep.sum() / max(ab.sum(), 1))
        out[v].append(roc_auc(sc[nm | keep], keep[nm | keep]) if keep.any() else np.nan)
say("as is", round(float(np.nanmean(out[None])), 3))
for v in V:
    say(
        f"abnormal frames with root speed < {v} m/s only: AUC {np.nanmean(out[v]):.3f}, abnormal frames left out {np.mean(share[v]):.2f}"
    )
