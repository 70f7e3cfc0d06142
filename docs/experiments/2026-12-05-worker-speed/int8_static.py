"""Static (QDQ) int8 quantisation of the bundled encoder graph, against fp32 and the dynamic int8
graph: CPU us per window (batches of 64, one thread), each graph's embedding of a window alone
against the same window in a batch of 64, and the largest difference from fp32.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed/int8_static.py [--per-channel] [--s8]

Calibration: 512 Kinder-Gator windows (every third clip), MinMax; MatMul nodes only. Needs the
``train`` extra (onnx) and the Kinder-Gator data. Writes nothing beside the bundled graphs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from edge.backends.onnx import session_options
from models.preprocess import WindowSpec, clip_to_windows
from training.datasets import load_dataset

FP32 = "models/weights/encoder.onnx"
DYNAMIC = "models/weights/encoder.int8.onnx"


class Windows(CalibrationDataReader):
    def __init__(self, windows: np.ndarray) -> None:
        self.batches = iter([{"windows": windows[i : i + 32]} for i in range(0, 512, 32)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def cpu_us_per_window(session: ort.InferenceSession, x: np.ndarray) -> float:
    session.run(None, {"windows": x[:64]})
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for i in range(0, len(x), 64):
            session.run(None, {"windows": x[i : i + 64]})
        best = min(best, (time.process_time() - t) / len(x) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-channel", action="store_true")
    parser.add_argument("--s8", action="store_true", help="int8 activations (default uint8)")
    args = parser.parse_args()
    kg = load_dataset("kinder-gator", None)
    windows = np.concatenate([clip_to_windows(c.joints, c.times, WindowSpec()) for c in kg.clips[::3]])
    with tempfile.TemporaryDirectory() as tmp:
        quant_pre_process(FP32, f"{tmp}/pre.onnx")
        quantize_static(
            f"{tmp}/pre.onnx", f"{tmp}/static.onnx", Windows(windows), quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8 if args.s8 else QuantType.QUInt8, weight_type=QuantType.QInt8,
            per_channel=args.per_channel, op_types_to_quantize=["MatMul"],
            calibrate_method=CalibrationMethod.MinMax, extra_options={"ActivationSymmetric": args.s8},
        )  # fmt: skip
        graphs = {"fp32": FP32, "static": f"{tmp}/static.onnx", "dynamic": DYNAMIC}
        sessions = {
            k: ort.InferenceSession(str(Path(p)), session_options(1, "all", False), providers=["CPUExecutionProvider"])
            for k, p in graphs.items()
        }  # fmt: skip
        x = windows[:256]
        reference = sessions["fp32"].run(None, {"windows": x[:64]})[0]
        for name, s in sessions.items():
            batch = s.run(None, {"windows": x[:64]})[0]
            alone = np.concatenate([s.run(None, {"windows": x[i : i + 1]})[0] for i in range(64)])
            sys.stdout.write(
                f"{name:8s} {cpu_us_per_window(s, x):6.1f} us/window; alone vs in a batch "
                f"{np.abs(batch - alone).max():.2g}; vs fp32 {np.abs(batch - reference).max():.3g}\n"
            )


if __name__ == "__main__":
    main()
