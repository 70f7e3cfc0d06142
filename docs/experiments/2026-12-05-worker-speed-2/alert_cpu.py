"""CPU time of each thread over the timed part of one `haad bench worker` configuration (8 streams,
8 s, flat out, the bundled encoder on ONNX Runtime, alerts to a temporary SQLite log as the bench
does): per encoder row scored, and for the alert writer's threads also per alert state handed to it.
Unlike thread_cpu.py it leaves out the set-up (data, profile, the alert log's schema upgrade), so
the figures are what the alert writer costs while the worker scores. Linux only.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed-2/alert_cpu.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

from edge.alerts_sink import AlertSink
from evaluation import bench_worker


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread, by name."""
    out = {}
    for t in threading.enumerate():
        if t.ident is not None:
            try:
                out[t.name] = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
            except OSError:  # the thread ended
                pass
    return out


def one_run() -> None:
    states = {"n": 0}
    write = AlertSink.write

    def counting_write(self: AlertSink, events: Any) -> None:
        states["n"] += len({e.episode.episode_id for e in events})  # rows the sink takes (one per episode)
        write(self, events)

    AlertSink.write = counting_write  # type: ignore[method-assign]
    run_config = bench_worker.run_config
    spans: dict[str, dict[str, float]] = {}

    def timed(*args: Any, **kwargs: Any) -> dict[str, Any]:
        before = thread_cpu()
        states["n"] = 0
        result = run_config(*args, **kwargs)
        after = thread_cpu()
        spans.update({k: {"cpu": after[k] - before.get(k, 0.0)} for k in after})
        return result

    bench_worker.run_config = timed  # type: ignore[assignment]
    try:
        report = bench_worker.run_bench(
            streams=(8,), seconds=8, backends=("onnxruntime",), modes=("flat_out",)
        )
    finally:
        bench_worker.run_config, AlertSink.write = run_config, write  # type: ignore[method-assign]
    r = report["results"][0]
    rows = r["windows"] + r["crops"]
    sys.stdout.write(
        f"{rows} rows, {states['n']} alert states in {r['seconds']} s; windows/s {r['windows_per_s']}, "
        f"scoring {r['scoring_windows_per_s']} (ratio {r['windows_per_s'] / r['scoring_windows_per_s']:.2f}); "
        f"load {report['host']['load_avg_1m']}\n"
    )
    for name, s in sorted(spans.items(), key=lambda kv: -kv[1]["cpu"]):
        per_state = (
            f"  {s['cpu'] / max(states['n'], 1) * 1e3:6.2f} ms per state" if name.startswith("haad-") else ""
        )
        sys.stdout.write(
            f"  {name:<22} {s['cpu']:6.2f} CPU s  {s['cpu'] / rows * 1e6:7.1f} us per row{per_state}\n"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    for _ in range(parser.parse_args().runs):
        one_run()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
