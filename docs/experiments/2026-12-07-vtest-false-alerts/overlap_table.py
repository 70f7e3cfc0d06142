# ruff: noqa: T201  (a scratch report: it prints)
"""usage: overlap_table.py SKELETONS.npz WINDOWS.json (window_report.py's): each scored window's largest share of its
person's box covered by another published person's box, against its score."""

import json
import sys
from collections import defaultdict

import numpy as np

from evaluation.vtest_walk import load_frames

frames = load_frames(sys.argv[1])
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


d = json.load(open(sys.argv[2]))
rows = []
for w in d["windows"]:
    info = window_info(w["person"], w["t_start"], w["t_end"])
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
