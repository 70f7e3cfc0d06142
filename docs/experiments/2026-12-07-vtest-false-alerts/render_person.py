# ruff: noqa: T201  (a scratch report: it prints)
"""Contact sheet of one person's frames over a time span: the video crop with every published box (the
person green, others red) and, beside it, the published world skeleton (x, y) drawn stick-figure style.
usage: render.py SKELETONS.npz PERSON T0 T1 OUT.png [STEP]"""

import sys

import cv2
import numpy as np

from evaluation.vtest_walk import load_frames
from models.skeleton import BONES

path, pid, t0, t1, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
step = int(sys.argv[6]) if len(sys.argv) > 6 else 5
frames = {round(f.timestamp, 1): f for f in load_frames(path)}
cap = cv2.VideoCapture("/work/shared/data/opencv_vtest/vtest.avi")
imgs = []
i = 0
wanted = {round(t, 1) for t in np.arange(t0, t1 + 1e-6, 0.1 * step)}

while True:
    ok, img = cap.read()
    if not ok:
        break
    t = round(i * 0.1, 1)
    i += 1
    if t not in wanted:
        continue
    f = frames.get(t)
    me = None if f is None else next((p for p in f.people if p.person_id == pid), None)
    if f is not None:
        for p in f.people:
            if p.box is None:
                continue
            x0, y0, x1, y1 = (
                int(p.box[0] * 768),
                int(p.box[1] * 576),
                int(p.box[2] * 768),
                int(p.box[3] * 576),
            )
            cv2.rectangle(img, (x0, y0), (x1, y1), (0, 255, 0) if p.person_id == pid else (0, 0, 255), 1)
            cv2.putText(
                img,
                str(p.person_id),
                (x0, y0 - 2),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (0, 255, 0) if p.person_id == pid else (0, 0, 255),
                1,
            )
    if me is not None and me.box is not None:
        cx, cy = (me.box[0] + me.box[2]) / 2 * 768, (me.box[1] + me.box[3]) / 2 * 576
    else:
        cx, cy = 384, 288
    half = 90
    xa, ya = int(np.clip(cx - half, 0, 768 - 2 * half)), int(np.clip(cy - half, 0, 576 - 2 * half))
    crop = cv2.resize(img[ya : ya + 2 * half, xa : xa + 2 * half], (360, 360), interpolation=cv2.INTER_CUBIC)
    panel = np.full((360, 200, 3), 255, np.uint8)
    if me is not None:
        j = me.joints[:, :2]
        s = 150 / 2.0  # 2 m tall fits 300 px
        pts = (j - j[0]) * s * np.array([1, -1]) + np.array([100, 180])  # kinect y is up
        for a, b in BONES:
            cv2.line(panel, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), (0, 0, 0), 2)
        vis = float(np.mean(me.visibility))
        cv2.putText(panel, f"vis {vis:.2f}", (5, 350), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    cv2.putText(crop, f"t={t:.1f}", (5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    imgs.append(np.hstack([crop, panel]))
cols = 4
while len(imgs) % cols:
    imgs.append(np.zeros_like(imgs[0]))
rows = [np.hstack(imgs[k : k + cols]) for k in range(0, len(imgs), cols)]
cv2.imwrite(out, np.vstack(rows))
print(out, len(imgs))
