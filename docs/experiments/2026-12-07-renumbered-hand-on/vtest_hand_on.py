"""Simulated frontend restarts on vtest.avi's real frontend frames (evaluation/data/vtest_skeletons.npz):
at moment t (every 0.5 s) the old run's people were last seen; the new run's people are first seen at
t + gap (the same tracks, renumbered). Each old person is handed to edge.successor.successor's pick.
The old place is the union of the person's boxes over the 3 s before t (an episode's box holds at
least one 3 s window's), or their box at t alone (``last``). Outcomes: right (the same track), fragment
(the old track gone by then and the new one not yet there at t: a track broken in two, probably the
same person), other (another person present at both times: forged), split (nobody).

    .venv/bin/python docs/experiments/2026-12-07-renumbered-hand-on/vtest_hand_on.py
"""

from __future__ import annotations

import sys
from unittest import mock

import numpy as np

from edge import successor as rule

z = np.load("evaluation/data/vtest_skeletons.npz")
frames: list[dict[int, tuple[float, float, float, float]]] = []
k = 0
for n in z["counts"]:
    frames.append({int(z["person_ids"][i]): tuple(z["boxes"][i]) for i in range(k, k + n)})
    k += n
FPS = 10  # vtest_skeletons.npz: a frame every 0.1 s


def old_places(i: int, union_s: float) -> dict[int, tuple[float, float, float, float]]:
    span = range(max(0, i - int(union_s * FPS)), i + 1)
    out = {}
    for p in frames[i]:
        boxes = np.array([frames[j][p] for j in span if p in frames[j]])
        out[p] = (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
    return out


sys.stdout.write(
    "old place | gap | SAME_PLACE_IOU | right | fragment | other (forged) | split | old people\n"
)
for name, union_s in (("last", 0.0), ("union 3 s", 3.0)):
    for gap in (0.5, 1.0, 2.0, 5.0, 10.0):
        for iou in (0.3, 0.5, 0.7):
            counts = dict.fromkeys(("right", "fragment", "other", "split"), 0)
            for i in range(30, len(frames) - int(gap * FPS), 5):
                old, new = old_places(i, union_s), frames[i + int(gap * FPS)]
                for o, place in old.items():
                    with mock.patch.object(rule, "SAME_PLACE_IOU", iou):
                        got = rule.successor(place, [b for p, b in old.items() if p != o], new)
                    if got is None:
                        counts["split"] += 1
                    elif got == o:
                        counts["right"] += 1
                    elif o not in new and got not in frames[i]:
                        counts["fragment"] += 1
                    else:
                        counts["other"] += 1
            total = sum(counts.values())
            row = " | ".join(str(counts[c]) for c in counts)
            sys.stdout.write(f"{name} | {gap} s | {iou} | {row} | {total}\n")
