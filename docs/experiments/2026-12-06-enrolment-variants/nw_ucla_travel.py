"""Experiment (issue 24): how far the person walks in NW-UCLA clips of each action (root travel over
the clip, and root speed over the most active 1 s and 2 s stretches that nw-ucla-dense cuts).

    python docs/experiments/2026-12-06-enrolment-variants/nw_ucla_travel.py
"""

import sys

import numpy as np

from evaluation.stream_sets import most_active
from models.skeleton import ROOT
from training.datasets import load_dataset


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


cs = load_dataset("nw-ucla", None)
for lab in [
    "walk_around",
    "carry",
    "pick_up_with_one_hand",
    "pick_up_with_two_hands",
    "drop_trash",
    "throw",
    "sit_down",
]:
    cl = [c for c in cs.clips if c.label == lab][:40]
    d = []
    da = []
    dur = []
    for c in cl:
        r = c.joints[:, ROOT]
        d.append(np.linalg.norm((r[-1] - r[0])[[0, 2]]))
        dur.append(c.times[-1] - c.times[0])
        for L in (1.0, 2.0):
            a = most_active(c, L)
            ra = a.joints[:, ROOT]
            da.append(np.linalg.norm((ra[-1] - ra[0])[[0, 2]]) / max(a.times[-1] - a.times[0], 1e-3))
    say(
        f"{lab:24s} clip dur {np.median(dur):.1f}s  root travel {np.median(d):.2f} m  most-active speed {np.median(da):.2f} m/s"
    )
