"""Experiment (issue 24): frame AUC of each abnormal action against the normal frames of its own stream,
encoder and raw-DCT, on a built-in set.

    python docs/experiments/2026-12-06-enrolment-variants/per_action.py nw-ucla-dense
"""

import collections
import sys

import numpy as np

from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from evaluation.fewshot import roc_auc
from evaluation.stream import _inside, frame_scores, replay
from evaluation.stream_sets import STREAM_SETS


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


cfg = WorkerConfig()
be = make_backend(cfg.backend)
raw = RawDctBackend(be.spec)
res = collections.defaultdict(list)
for s in STREAM_SETS[sys.argv[1]](None):
    for name, b in (("enc", be), ("raw", raw)):
        p = build_profile("e", s.support, b, calibration=cfg.calibration)
        run = replay(s, p, b, cfg)
        t, sc = frame_scores(run, b.spec.fps)
        nm = _inside(t, s.normal)
        for iv, lab in zip(s.abnormal, s.abnormal_labels, strict=True):
            ab = _inside(t, [iv])
            m = nm | ab
            res[(s.normal_label, lab, name)].append(roc_auc(sc[m], ab[m]))
for k in sorted(res):
    say(k, f"{np.mean(res[k]):.3f}", len(res[k]))
