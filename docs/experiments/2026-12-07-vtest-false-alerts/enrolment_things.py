# ruff: noqa: T201  (a scratch report: it prints)
"""usage: enrolment_things.py SKELETONS.npz ...: each file's walking enrolment's measurement with and without tracks that
never moved (things taken for people: the garment, the bollard)."""

import sys
from collections import defaultdict

import numpy as np

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from evaluation.vtest_walk import ENROL_S, load_frames, track_clips

cfg = WorkerConfig()
b = make_backend(OnnxRuntimeConfig())
for path in sys.argv[1:]:
    fr = [f for f in load_frames(path) if f.timestamp < ENROL_S]
    cen = defaultdict(list)
    for f in fr:
        for p in f.people:
            cen[p.person_id].append(((p.box[0] + p.box[2]) / 2 * 768, p.box[3] * 576))
    still = {pid for pid, c in cen.items() if np.ptp(np.array(c), axis=0).max() < 25}
    clips = track_clips(fr, cfg.max_gap_s)
    for name, cl in (("all", clips), ("moving", [c for c in clips if int(c.subject[5:]) not in still])):
        p = build_profile("walking", cl, b, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s)
        c = p.meta["calibration"]
        print(
            path.split("/")[-1],
            name,
            "still tracks",
            sorted(still),
            "clips",
            c["n_clips"],
            "enrolment_kappa",
            round(c["enrolment_kappa"] or 0, 3),
            "threshold",
            round(p.threshold, 3),
        )
