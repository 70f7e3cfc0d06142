"""Which weight of the kinematic term in a moment's score holds on calm-and-strike recordings and on
the built-in sets? Frame AUC (mean over streams) of the product's score and of raw-DCT, per target.

    python docs/experiments/2026-12-06-calm-strikes/weight_rules.py RULE TARGET...

RULE: `agreement` (edge.short_scale.kinematic_weight without a floor: the scorers' rank agreement
on the support, at least 0, the rule before `worker.kinematic_floor`), `floor:A` (that agreement,
at least A), `fixed:A`. TARGET: a built-in stream set, or
FILE:LABEL, a recording-set file and its normal label (enrolled as `--recordings` enrols)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from targets import streams_of  # this folder's helper

import edge.pipeline
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.short_scale import kinematic_weight
from evaluation.stream import evaluate_streams

rule, targets = sys.argv[1], sys.argv[2:]


def weight(encoder_profile, kinematic_profile, configured_floor=0.0) -> float:  # type: ignore[no-untyped-def]
    """The rule's weight in place of the product's (its configured floor is ignored)."""
    kind, *args = rule.split(":")
    if kind == "fixed":
        return float(args[0])
    agreement = kinematic_weight(encoder_profile, kinematic_profile)
    return max(agreement, float(args[0])) if kind == "floor" else agreement


edge.pipeline.kinematic_weight = weight
cfg = WorkerConfig()
backend = make_backend(cfg.backend)
gains = []
for t in targets:
    streams = streams_of(t, backend, cfg)
    s = evaluate_streams(streams, backend, cfg)
    mine, raw = s["frame_auc_mean"], s["raw_dct"]["frame_auc_mean"]
    gains.append(mine - raw)
    sys.stdout.write(f"{rule:10s} {Path(t).name:40s} {mine:.4f} (raw-DCT {raw:.4f}, {mine - raw:+.4f})\n")
    sys.stdout.flush()
sys.stdout.write(f"{rule:10s} smallest margin over raw-DCT {min(gains):+.4f}, mean {np.mean(gains):+.4f}\n")
