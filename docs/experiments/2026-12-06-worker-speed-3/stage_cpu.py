"""Main-thread CPU microseconds per encoder row of each stage of `haad bench worker` (flat out, the
bundled encoder on ONNX Runtime, one thread, alerts to a temporary SQLite log as the bench does).

The bench's own stage clock (`time.perf_counter` in evaluation.bench_worker and edge.pipeline) is
swapped for the main thread's CPU clock, so each stage reports the CPU it took and the run lasts
`--seconds` of main-thread CPU: on a shared host wall time counts the other processes, CPU time far
less. `rest` is the loop's own CPU (latency lists, batch bookkeeping) outside the named stages;
the ratio is the scoring stages' share of the main thread's CPU (the bench's ratio, were the main
thread alone on a core and the alert writer's threads free). Medians over `--runs` runs.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-worker-speed-3/stage_cpu.py [--runs 5]

Runs on any checkout of the project (only the bench's public pieces), for A/B comparisons.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types

import edge.pipeline
from evaluation import bench_worker

OUTSIDE = ("frames", "window")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    cpu_clock = types.SimpleNamespace(perf_counter=time.thread_time, time=time.time, sleep=time.sleep)
    bench_worker.time = cpu_clock  # type: ignore[assignment]
    edge.pipeline.time = cpu_clock  # type: ignore[assignment]
    per_row: dict[str, list[float]] = {}
    ratios = []
    load = [os.getloadavg()[0]]
    for _ in range(args.runs):
        report = bench_worker.run_bench(
            streams=(args.streams,), seconds=args.seconds, backends=("onnxruntime",), modes=("flat_out",)
        )
        r = report["results"][0]
        rows = r["windows"] + r["crops"]
        stages = dict(r["stage_s"])
        stages["rest"] = r["seconds"] - sum(stages.values())
        scoring = sum(stages[k] for k in bench_worker.SCORING_STAGES)
        ratios.append(scoring / r["seconds"])
        for k, v in stages.items():
            per_row.setdefault(k, []).append(v / rows * 1e6)
        per_row.setdefault("outside scoring", []).append((r["seconds"] - scoring) / rows * 1e6)
        per_row.setdefault("scoring", []).append(scoring / rows * 1e6)
        load.append(os.getloadavg()[0])
    sys.stdout.write(
        f"{args.runs} runs x {args.seconds} CPU s, {args.streams} streams; load {min(load):.1f}-{max(load):.1f}\n"
    )
    for k, v in per_row.items():
        sys.stdout.write(
            f"  {k:<16} median {statistics.median(v):7.1f} us/row  (min {min(v):.1f}, max {max(v):.1f})\n"
        )
    sys.stdout.write(
        f"  CPU ratio (scoring / main thread) median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})\n"
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
