"""Experiment (issue 24): is the kinematic term's weight stable when the profile is enrolled as
`haad eval stream --recordings` enrols it (the longest normal run of three other people's
recordings, a few seconds each), and which weight rule holds up there and on the built-in sets?

    python docs/experiments/2026-12-06-enrolment-variants/make_recordings.py SET KEEP DIR  # proxies
    python docs/experiments/2026-12-06-enrolment-variants/kinematic_weight_rules.py RULE [SET|FILE ...]

RULE: `product` (edge.short_scale.kinematic_weight), `fixed:A`, or `shrink:N0:A0` (the product's
weight pulled towards A0 by N0 pseudo-crops against the support's own number of crops). A FILE is
a recording-set file whose stem is its normal label (an `_vNN` view suffix is dropped). Prints
the encoder's frame AUC (mean over streams) per set and their mean.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import edge.pipeline
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.short_scale import kinematic_weight
from evaluation.recordings import read_recording_set
from evaluation.stream import evaluate_streams
from evaluation.stream_sets import STREAM_SETS


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


rule, targets = sys.argv[1], sys.argv[2:]


def weight(encoder_profile, kinematic_profile, floor=0.0) -> float:  # type: ignore[no-untyped-def]
    a = kinematic_weight(encoder_profile, kinematic_profile)  # the rule of that day: no floor
    kind, *args = rule.split(":")
    if kind == "fixed":
        return float(args[0])
    if kind == "shrink":
        n0, a0 = float(args[0]), float(args[1])
        n = float((~encoder_profile.generated_rows).sum())
        return (n * a + n0 * a0) / (n + n0)
    return a


edge.pipeline.kinematic_weight = weight
cfg = WorkerConfig()
backend = make_backend(cfg.backend)
aucs = []
for t in targets:
    if t in STREAM_SETS:
        streams = STREAM_SETS[t](None)
    else:
        f = Path(t)
        normal = f.stem.split("_v0")[0]
        streams = read_recording_set(
            f, [normal], shots=3, spec=backend.spec, min_segment_s=cfg.min_segment_s
        ).streams
    s = evaluate_streams(streams, backend, cfg)
    aucs.append(s["frame_auc_mean"])
    say(
        f"{rule:14s} {t:60s} {s['frame_auc_mean']:.4f} (raw {s['raw_dct']['frame_auc_mean']:.4f})", flush=True
    )
say(f"{rule:14s} MEAN {np.mean(aucs):.4f} over {len(aucs)}", flush=True)
