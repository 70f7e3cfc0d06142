"""CPU time the cyclic garbage collector takes during the timed part of one `haad bench worker`
configuration (8 streams, 8 s, flat out, bundled encoder on ONNX Runtime, alerts to a temporary
SQLite log as the bench does), per generation and per encoder row, from `gc.callbacks` with the
calling thread's CPU clock (collections run in whichever thread allocates; the main thread's are
what delays the scoring loop). Also the number of objects the collector tracks.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-worker-speed-3/gc_cpu.py [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from typing import Any

from evaluation import bench_worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    main_thread = threading.main_thread()
    spent: dict[tuple[str, int], float] = {}
    count: dict[tuple[str, int], int] = {}
    started: dict[int, float] = {}
    on = {"timing": False}

    def callback(phase: str, info: dict[str, Any]) -> None:
        if not on["timing"]:
            return
        tid = threading.get_ident()
        if phase == "start":
            started[tid] = time.thread_time()
        elif tid in started:
            key = ("main" if tid == main_thread.ident else "other", info["generation"])
            spent[key] = spent.get(key, 0.0) + time.thread_time() - started.pop(tid)
            count[key] = count.get(key, 0) + 1

    gc.callbacks.append(callback)
    run_config = bench_worker.run_config
    tracked = []

    def timed(*a: Any, **k: Any) -> dict[str, Any]:
        tracked.append(len(gc.get_objects()))
        spent.clear()
        count.clear()
        on["timing"] = True
        try:
            return run_config(*a, **k)
        finally:
            on["timing"] = False

    bench_worker.run_config = timed  # type: ignore[assignment]
    per_row: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.runs):
        report = bench_worker.run_bench(
            streams=(8,), seconds=8, backends=("onnxruntime",), modes=("flat_out",)
        )
        r = report["results"][0]
        rows = r["windows"] + r["crops"]
        for key in sorted(set(spent) | set(per_row)):
            per_row.setdefault(key, []).append(spent.get(key, 0.0) / rows * 1e6)
        sys.stdout.write(
            f"  run: {rows} rows; collections {dict(sorted(count.items()))}; load {os.getloadavg()[0]:.1f}\n"
        )
    sys.stdout.write(f"objects tracked at the start of a run: {tracked}\n")
    for key, v in sorted(per_row.items()):
        sys.stdout.write(
            f"  {key[0]:<5} gen {key[1]}: median {statistics.median(v):6.2f} us/row (min {min(v):.2f}, max {max(v):.2f})\n"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
