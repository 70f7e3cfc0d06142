# ruff: noqa: T201  (a scratch report: it prints)
"""usage: overlap_table.py SKELETONS.npz WINDOWS.json (window_report.py's): each scored window's largest share of its
person's box covered by another published person's box, against its score."""

import json
import sys

import numpy as np
from person_boxes import PersonBoxes  # this folder's; run as a script, its folder is on sys.path

from evaluation.vtest_walk import load_frames

frames = load_frames(sys.argv[1])
boxes = PersonBoxes(frames)

d = json.load(open(sys.argv[2]))
rows = []
for w in d["windows"]:
    info = boxes.window_info(w["person"], w["t_start"], w["t_end"])
    if info:
        rows.append(
            (
                w["ratio"],
                info["occluded_max"],
                info["occluded_share_50"],
                info["vis_mean"],
                w["person"],
                w["t_start"],
            )
        )
r = np.array([x[:4] for x in rows])
print("windows", len(r), "hot", int((r[:, 0] > 1).sum()))
for cut in (0.2, 0.3, 0.4, 0.5):
    m = r[:, 1] >= cut
    print(
        f"another person's box covers >= {cut} of theirs in some frame: windows {int(m.sum())} ({m.mean():.1%}), hot among them {int((r[m, 0] > 1).sum())}, hot elsewhere {int((r[~m, 0] > 1).sum())}, max ratio elsewhere {r[~m, 0].max():.3f}"
    )
for x in sorted(rows, reverse=True)[:10]:
    print(x)
