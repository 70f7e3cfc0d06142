"""How much of a calm recording's frame AUC the first seconds of its segment cost: the worker scores
a segment's first full window at 3 s (growing segments are scored only if they end short), so the
frames before it share that window's score and its last second's. Frame AUC over all frames and over
the frames after the first 3 s, and the share of abnormal frames in the first 3 s:

    python docs/experiments/2026-12-06-vigour/first_seconds.py runs/calm-kg.npz:calm kinder-gator-calm
"""

from __future__ import annotations

import sys

import numpy as np
from separation import auc, streams_of  # the sibling script

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from evaluation.stream import _inside, frame_scores, replay
from models.preprocess import WindowSpec

FIRST_S = 3.0


def main(names: list[str]) -> None:
    backend, cfg = make_backend(OnnxRuntimeConfig()), WorkerConfig()
    for name in names:
        profiles = {}
        every, after, share = [], [], []
        for stream in streams_of(name, WindowSpec()):
            key = tuple(c.name for c in stream.support)
            if key not in profiles:
                profiles[key] = build_profile("p", stream.support, backend, calibration=cfg.calibration)
            t, score = frame_scores(replay(stream, profiles[key], backend, cfg), backend.spec.fps)
            abnormal, normal = _inside(t, stream.abnormal), _inside(t, stream.normal)
            late = t >= t[0] + FIRST_S
            every.append(auc(score[abnormal], score[normal]))
            after.append(auc(score[abnormal & late], score[normal & late]))
            share.append((abnormal & ~late).sum() / abnormal.sum())
        sys.stdout.write(f"| {name} | {np.mean(every):.3f} | {np.mean(after):.3f} | {np.mean(share):.2f} |\n")


if __name__ == "__main__":
    main(sys.argv[1:])
