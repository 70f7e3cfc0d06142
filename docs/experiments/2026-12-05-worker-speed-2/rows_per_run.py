"""CPU microseconds per row of the bundled encoder (ONNX Runtime, one thread) when a worker batch of
128 rows (64 windows and their 1 s crops) runs in pieces of ``rows_per_run`` rows, through
:class:`edge.backends.onnx.OnnxRuntimeBackend` as the worker uses it. Real Kinder-Gator windows.
Process time; each setting is timed in turn, several rounds, min and median reported.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed-2/rows_per_run.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from config.backend import OnnxRuntimeConfig
from edge.backends.onnx import OnnxRuntimeBackend
from models.preprocess import WindowSpec, clip_to_windows
from training.datasets import load_dataset

ROWS, SIZES, ROUNDS, CALLS = 128, (128, 64, 48, 32, 16), 6, 15


def main() -> None:
    clips = load_dataset("kinder-gator", None).clips[::5]
    windows = np.concatenate([clip_to_windows(c.joints, c.times, WindowSpec()) for c in clips])[:ROWS]
    backends = {n: OnnxRuntimeBackend(OnnxRuntimeConfig(rows_per_run=n)) for n in SIZES}
    ref = backends[ROWS].embed(windows)
    us: dict[int, list[float]] = {n: [] for n in SIZES}
    for _ in range(ROUNDS):
        for n, backend in backends.items():
            t = time.process_time()
            for _ in range(CALLS):
                out = backend.embed(windows)
            us[n].append((time.process_time() - t) / CALLS / ROWS * 1e6)
            assert np.abs(out - ref).max() <= 1e-6  # the pieces do not change an embedding
    sys.stdout.write(f"load {os.getloadavg()[0]:.2f}; CPU us per row, min / median of {ROUNDS}:\n")
    for n, v in us.items():
        sys.stdout.write(f"  rows_per_run {n:>3}: {min(v):6.1f} / {float(np.median(v)):6.1f}\n")


if __name__ == "__main__":
    main()
