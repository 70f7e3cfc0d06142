"""CPU time of each thread of one `haad bench worker` configuration (8 streams, 8 s, flat out, the
bundled encoder on ONNX Runtime, alerts to a temporary SQLite log as the bench does), per encoder
row scored. The main thread's figure includes the set-up (data, profile); the alert writer's two
threads (outbox writer, delivery) run Python beside the main thread and hold the interpreter lock
while they do. Linux only (reads /proc/self/task every 50 ms).

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed-2/thread_cpu.py
"""

from __future__ import annotations

import os
import sys
import threading
import time

from evaluation.bench_worker import run_bench

TICK = os.sysconf("SC_CLK_TCK")


def main() -> None:
    cpu: dict[str, float] = {}  # thread name -> its CPU seconds when last seen
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            names = {str(t.native_id): t.name for t in threading.enumerate()}
            for tid in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{tid}/stat") as f:
                        stat = f.read()
                except OSError:  # the thread ended
                    continue
                fields = stat[stat.rindex(")") + 2 :].split()
                cpu[names.get(tid, f"native {tid}")] = (int(fields[11]) + int(fields[12])) / TICK

    sampler = threading.Thread(target=sample, name="sampler", daemon=True)
    sampler.start()
    t = time.monotonic()
    report = run_bench(streams=(8,), seconds=8, backends=("onnxruntime",), modes=("flat_out",))
    done.set()
    sampler.join()
    r = report["results"][0]
    rows = r["windows"] + r["crops"]
    sys.stdout.write(
        f"{rows} rows in {r['seconds']} s ({time.monotonic() - t:.1f} s with set-up); windows/s "
        f"{r['windows_per_s']}, scoring {r['scoring_windows_per_s']}; load {report['host']['load_avg_1m']}\n"
    )
    for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        sys.stdout.write(f"  {name:<22} {seconds:6.2f} CPU s  {seconds / rows * 1e6:7.1f} us per row\n")


if __name__ == "__main__":
    main()
