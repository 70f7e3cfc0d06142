"""The kinematic term's weight (edge.short_scale.kinematic_weight, at the configured floor) of every
distinct profile a stream set or recording-set file enrols, as `haad eval stream` enrols them.

    python docs/experiments/2026-12-06-calm-strikes/rho.py [floor=F] TARGET...   # a set, or FILE:LABEL"""

import sys
from pathlib import Path

import numpy as np
from targets import streams_of  # this folder's helper

from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import Pipeline

args = sys.argv[1:]
floor = float(args.pop(0).split("=")[1]) if args and args[0].startswith("floor=") else None
cfg = WorkerConfig() if floor is None else WorkerConfig(kinematic_floor=floor)
backend = make_backend(cfg.backend)
for target in args:
    streams = streams_of(target, backend, cfg)
    weights: dict[tuple[str, ...], float] = {}
    for s in streams:
        key = tuple(c.name for c in s.support)
        if key not in weights:
            profile = build_profile("eval", s.support, backend, calibration=cfg.calibration)
            weights[key] = float(Pipeline(cfg, backend, [profile], kinematic=True).kinematic_weights[0])
    w = np.array(list(weights.values()))
    sys.stdout.write(
        f"{Path(target).name:30s} profiles {len(w):3d} weight median {np.median(w):.2f} "
        f"[{w.min():.2f}, {w.max():.2f}] at the floor {np.mean(w == cfg.kinematic_floor):.2f}\n"
    )
