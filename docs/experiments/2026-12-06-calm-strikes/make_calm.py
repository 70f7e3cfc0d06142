"""Calm-and-strike recordings (issue 24), the shape of the held-out recordings the team does not have:
per test person of DATASET (kinder-gator or msr), three recordings of calm stretches (the slow starts and ends of their
other clips: mean joint speed about the root, smoothed over 5 frames, under SPEED m/s for at least
MIN_S s, at most 1.5 s kept) alternating with three ~1 s strikes (the most active second of their
punch, kick or throw clips), joined by 0.2 s blends. Frames are labelled `calm` or `strike:ACTION`.
usage: python docs/experiments/2026-12-06-calm-strikes/make_calm.py DATASET OUT.npz [SPEED] [MIN_S]"""

import sys
from pathlib import Path

import numpy as np

from clips import Clip, save_clipset_file
from evaluation.stream_sets import label_runs, most_active, stitch
from models.skeleton import ROOT
from training.datasets import load_dataset
from training.protocol import SPLITS

dataset, out = sys.argv[1], Path(sys.argv[2])
SPEED = float(sys.argv[3]) if len(sys.argv) > 3 else 0.25
MIN_S = float(sys.argv[4]) if len(sys.argv) > 4 else 0.8
MAX_S = 1.5
STRIKES = {
    "kinder-gator": (
        "Punch",
        "Kick-a-ball",
        "Kick-a-ball-with-the-other-leg",
        "Kick-a-ball-as-far-as-you-can",
        "Throw-a-ball-",
    ),
    "msr": ("a05 forward punch", "a14 forward kick", "a15 side kick", "a12 side-boxing", "a06 high throw"),
}[dataset]


def calm_runs(c: Clip) -> list[Clip]:
    rel = c.joints - c.joints[:, ROOT : ROOT + 1]
    dt = np.maximum(np.diff(c.times), 1e-3)
    speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(-1) / dt
    calm = np.concatenate([[False], np.convolve(speed, np.ones(5) / 5, mode="same") < SPEED])
    runs = []
    for label, a, b in label_runs(calm.astype(str)):
        if label == "True" and c.times[b - 1] - c.times[a] >= MIN_S:
            t = c.times[a:b]
            keep = t <= t[0] + MAX_S
            runs.append(Clip(c.joints[a:b][keep], t[keep], "calm", c.subject, c.name))
    return runs


clips = load_dataset(dataset, None).clips
rng = np.random.default_rng(0)
recordings = []
for subject in sorted(SPLITS[dataset].test_subjects):
    mine = [c for c in clips if c.subject == subject]
    calm = [r for c in mine if c.label not in STRIKES for r in calm_runs(c)]
    strikes = [c for c in mine if c.label in STRIKES]
    if len(calm) < 2 or len(strikes) < 3:
        continue
    for rep in range(3):
        rng.shuffle(calm)
        parts, labels = [calm[0]], ["calm"]
        for i, k in enumerate(rng.choice(len(strikes), 3, replace=False)):
            parts += [most_active(strikes[k], 1.0), calm[(i + 1) % len(calm)]]
            labels += ["strike:" + strikes[k].label.replace(" ", "_"), "calm"]
        joints, times, spans = stitch(parts, 0.2)
        frame_labels = np.full(len(times), "", dtype=object)
        for (a, b), label in zip(spans, labels, strict=True):
            frame_labels[(times >= a) & (times <= b)] = label
        recordings.append(Clip(joints, times, "", subject, f"calm-{subject}-{rep}", frame_labels.astype(str)))
save_clipset_file(out, recordings)
lengths = [r.times[-1] for r in recordings]
sys.stdout.write(f"{out}: {len(recordings)} recordings of {min(lengths):.1f}-{max(lengths):.1f} s\n")
