"""What vigour adds to the worker's scoring path: microseconds per window of a full batch (64) for
its last second's vigour, the ratios and the hinge, against the encoder's time per row (a window
costs two rows, itself and its 1 s crop), ONNX Runtime on 1 thread:

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-vigour/cost.py
"""

from __future__ import annotations

import sys
import time

import numpy as np

from config.backend import OnnxRuntimeConfig
from edge.backends import make_backend
from edge.vigour import hinge, last_second, ratios


def per_call(f, n: int) -> float:  # noqa: ANN001
    f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n


def main() -> None:
    windows = np.random.default_rng(0).normal(size=(64, 60, 20, 3)).astype(np.float32)
    dt = np.full(64, 0.05)
    refs = np.full((64, 1), 0.5)

    def vigour() -> None:
        hinge(np.ones((64, 1), np.float32), ratios(last_second(windows, dt), refs, 3.0))

    backend = make_backend(OnnxRuntimeConfig(intra_op_threads=1))
    v = per_call(vigour, 300) / 64
    e = per_call(lambda: backend.embed(windows), 40) / 64
    sys.stdout.write(
        f"vigour {v * 1e6:.1f} us/window, encoder {e * 1e6:.1f} us/row: {v / (2 * e):.1%} of a window\n"
    )


if __name__ == "__main__":
    main()
