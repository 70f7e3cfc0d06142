"""Two recording-set files with several normal behaviours (issue 21):
`walk_wave.npz`, Kinder-Gator test people: walk -> wave -> a 1.5 s jump -> walk -> punch -> wave,
stitched with 0.5 s blends (each normal-to-normal change is a stitched transition); `utk.npz`, every
UTKinect recording with its annotated segments as frame labels (real transitions between actions).
usage: python docs/experiments/2026-12-06-transitions/make_sets.py OUT_DIR"""

import sys
from pathlib import Path

import numpy as np

from clips import Clip, save_clipset_file
from evaluation.stream_sets import most_active, stitch
from training.datasets import load_dataset, resolve_data_root
from training.datasets.utkinect import load_utkinect_recordings
from training.protocol import KINDER_GATOR

WALK, WAVE = "Walk-in-place", "Wave-your-hand"
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

kg = load_dataset("kinder-gator", None)
by = {(c.subject, c.label): c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects}
walk_wave = []
for s in sorted(KINDER_GATOR.test_subjects):
    if not all((s, label) in by for label in (WALK, WAVE, "Punch", "Jump")):
        continue
    parts = [by[(s, WALK)], by[(s, WAVE)], most_active(by[(s, "Jump")], 1.5), by[(s, WALK)], by[(s, "Punch")]]
    parts.append(by[(s, WAVE)])
    joints, times, spans = stitch(parts)
    labels = np.full(len(times), "", dtype=object)
    for (a, b), label in zip(spans, [WALK, WAVE, "Jump", WALK, "Punch", WAVE], strict=True):
        labels[(times >= a) & (times <= b)] = label
    walk_wave.append(Clip(joints, times, "", s, f"rec-{s}", labels.astype(str)))
save_clipset_file(out / "walk_wave.npz", walk_wave)

utk = []
for rec in load_utkinect_recordings(resolve_data_root(None)):
    labels = np.full(len(rec.times), "", dtype=object)
    for seg in rec.segments:
        labels[(rec.times >= seg.start_s) & (rec.times <= seg.end_s)] = seg.label
    utk.append(Clip(rec.joints, rec.times - rec.times[0], "", rec.subject, rec.name, labels.astype(str)))
save_clipset_file(out / "utk.npz", utk)
sys.stdout.write(f"{out}/walk_wave.npz: {len(walk_wave)} recordings; {out}/utk.npz: {len(utk)}\n")
