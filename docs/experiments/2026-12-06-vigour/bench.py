"""The worker's scoring path (windows and crops per second of batch -> normalise ... episodes) with
vigour on and off, alternated (``haad bench worker``'s run, flat out, ONNX Runtime, 1 thread):

    python docs/experiments/2026-12-06-vigour/bench.py [ROUNDS] [SECONDS]
"""

from __future__ import annotations

import sys

from config.worker import WorkerConfig
from evaluation.bench_worker import run_bench


def main(rounds: int, seconds: float) -> None:
    for r in range(rounds):
        for factor in (3.0, 0.0):
            report = run_bench(
                streams=(8, 32), seconds=seconds, backends=("onnxruntime",), modes=("flat_out",),
                cfg=WorkerConfig(vigour_factor=factor),
            )  # fmt: skip
            rates = ", ".join(
                f"{x['streams']} streams {x['scoring_windows_per_s']:.0f}" for x in report["results"]
            )
            sys.stdout.write(f"round {r} vigour_factor {factor}: scoring path windows/s {rates}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, float(sys.argv[2]) if len(sys.argv) > 2 else 8.0)
