"""Dense stream sets written as recording-set files (one per normal behaviour), optionally with the
normal lead-in/tail beyond `keep` seconds unlabelled, so `--recordings` enrols from ~1-2 s runs."""

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from clips import Clip, save_clipset_file
from evaluation.stream_sets import STREAM_SETS


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


name, keep, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
groups = defaultdict(list)
for s in STREAM_SETS[name](None):
    t = s.recording.times
    lab = np.full(len(t), "", dtype=object)
    for a, b in s.normal:
        lab[(t >= a) & (t <= b)] = s.normal_label.replace(" ", "_")
    for (a, b), action in zip(s.abnormal, s.abnormal_labels, strict=True):
        lab[(t >= a) & (t <= b)] = "abnormal:" + action.replace(" ", "_")
    if keep > 0:
        first, last = s.normal[0], s.normal[-1]
        lab[(t >= first[0]) & (t < first[1] - keep)] = ""
        lab[(t > last[0] + keep) & (t <= last[1])] = ""
    view = s.name.split(":")[3] if s.name.count(":") >= 3 else ""
    subject = s.name.split(":")[1]
    groups[(s.normal_label, view)].append(
        Clip(
            s.recording.joints,
            t,
            "",
            subject,
            s.name.replace(":", "_").replace(" ", "_"),
            frame_labels=lab.astype(str),
        )
    )
for (normal, view), clips in groups.items():
    f = out / f"{normal.replace(' ', '_')}{'_' + view if view else ''}.npz"
    save_clipset_file(f, clips)
    say(f, normal.replace(" ", "_"), len(clips))
