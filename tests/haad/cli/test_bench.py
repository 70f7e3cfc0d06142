"""``haad bench``: what it prints, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.daemon_harness import haad


def test_bench_worker_prints_its_table_without_a_line_per_alert(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    empty = tmp_path / "no-data"
    empty.mkdir()  # procedural motion: abnormal clips alert within the half second
    done = haad(
        "bench", "worker", "--streams", "1", "--seconds", "0.5", "--modes", "flat_out",
        "--backends", "onnxruntime", "--data-root", str(empty), "--json", str(report),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    opened = json.loads(report.read_text())["results"][0]["episodes"]["opened"]
    assert opened > 0 and "windows/s" in done.stdout
    # The bench's alerts are counted in its table: a log line each buried it on the terminal.
    assert "ALERT" not in done.stderr, done.stderr[:500]
