"""What a scored window's frames looked like, from the published boxes (window_report.py's and
overlap_table.py's): the person's size, visibility, time at the frame's edge, cover by another
person's box, jumps. vtest.avi is 768 x 576; boxes are normalised."""

from collections import defaultdict

import numpy as np

W, H = 768, 576


def overlap_of(a, b):  # share of a covered by b
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1])
    return inter / area if area > 0 else 0.0


class PersonBoxes:
    def __init__(self, frames):
        # per person per frame: box, visibility, hip centre
        self.by_person: dict[int, list[tuple[float, tuple, float, np.ndarray]]] = defaultdict(list)
        self.boxes_at: dict[float, list[tuple[int, tuple]]] = defaultdict(list)
        for f in frames:
            for p in f.people:
                self.by_person[p.person_id].append(
                    (f.timestamp, p.box, float(np.mean(p.visibility)), p.joints)
                )
                self.boxes_at[round(f.timestamp, 2)].append((p.person_id, p.box))

    def window_info(self, pid, ts, te):
        rows = [r for r in self.by_person[pid] if ts - 1e-6 <= r[0] <= te + 1e-6]
        if not rows:
            return {}
        hs = [(r[1][3] - r[1][1]) * H for r in rows]
        edge = [r[1][0] < 0.01 or r[1][2] > 0.99 or r[1][1] < 0.01 or r[1][3] > 0.99 for r in rows]
        occl = []
        for r in rows:
            others = [b for q, b in self.boxes_at[round(r[0], 2)] if q != pid]
            occl.append(max([overlap_of(r[1], b) for b in others], default=0.0))
        cx = [(r[1][0] + r[1][2]) / 2 * W for r in rows]
        cy = [(r[1][1] + r[1][3]) / 2 * H for r in rows]
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
