"""Where the main thread's wall time goes over the timed part of one `haad bench worker` configuration
(8 streams, 8 s, flat out, the bundled encoder on ONNX Runtime, alerts to a temporary SQLite log as
the bench does), per encoder row: on a CPU, waiting for a CPU (other processes of a shared host: the
scheduler's run-queue time), and blocked (neither: in flat-out mode the loop never sleeps, so this is
the main thread waiting for the interpreter lock that the alert writer's threads hold). Linux only
(/proc/thread-self/schedstat). `--switch-ms` sets `sys.setswitchinterval` for the run.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-06-worker-speed-3/gil_wait.py [--runs 3] [--switch-ms 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from evaluation import bench_worker


def schedstat() -> tuple[float, float]:
    """(seconds on a CPU, seconds waiting on a run queue) of the calling thread."""
    with open("/proc/thread-self/schedstat") as f:
        on_cpu, queued, _ = f.read().split()
    return int(on_cpu) / 1e9, int(queued) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--switch-ms", type=float, default=None)
    args = parser.parse_args()
    if args.switch_ms is not None:
        sys.setswitchinterval(args.switch_ms / 1000)
    run_config = bench_worker.run_config
    spans: dict[str, float] = {}

    def timed(*a: Any, **k: Any) -> dict[str, Any]:
        cpu0, rq0 = schedstat()
        t0 = time.perf_counter()
        result = run_config(*a, **k)
        wall = time.perf_counter() - t0
        cpu1, rq1 = schedstat()
        spans.update(wall=wall, cpu=cpu1 - cpu0, queued=rq1 - rq0)
        return result

    bench_worker.run_config = timed  # type: ignore[assignment]
    rows: dict[str, list[float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.runs):
        report = bench_worker.run_bench(
            streams=(args.streams,), seconds=8, backends=("onnxruntime",), modes=("flat_out",)
        )
        r = report["results"][0]
        n = r["windows"] + r["crops"]
        blocked = spans["wall"] - spans["cpu"] - spans["queued"]
        for k, v in (("wall", spans["wall"]), ("on cpu", spans["cpu"]), ("run queue", spans["queued"]),
                     ("blocked", blocked)):  # fmt: skip
            rows.setdefault(k, []).append(v / n * 1e6)
        rows.setdefault("ratio", []).append(r["windows_per_s"] / r["scoring_windows_per_s"])
        load.append(os.getloadavg()[0])
    sys.stdout.write(
        f"{args.runs} runs, {args.streams} streams, switch interval {sys.getswitchinterval() * 1e3:g} ms; "
        f"load {min(load):.1f}-{max(load):.1f}\n"
    )
    for k, v in rows.items():
        unit = "" if k == "ratio" else " us/row"
        sys.stdout.write(
            f"  {k:<10} median {statistics.median(v):8.3f}{unit}  (min {min(v):.3f}, max {max(v):.3f})\n"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
