"""``haad bench worker``: the whole pipeline runs, commits through the given callable, reports per config."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.episodes import EpisodeEvent
from evaluation.bench_worker import fresh_encoder, procedural_clips, run_config
from haad.cli import app
from models.humanmac import DEFAULT_HUMANMAC_PATH


def test_pipeline_commits_episode_events_and_reports_throughput(tmp_path: Path) -> None:
    backend = make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path)), fresh_encoder(tmp_path))
    support, replay, _ = procedural_clips()
    cfg = WorkerConfig(max_batch=16)
    profile = build_profile("bench", support, backend, calibration=cfg.calibration)
    committed: list[EpisodeEvent] = []

    def commit(events: Sequence[EpisodeEvent]) -> None:
        committed.extend(events)

    r = run_config(backend, profile, replay, streams=4, seconds=1.0, cfg=cfg, commit=commit)
    assert r["windows"] > 0 and r["windows_per_s"] > 0 and r["mean_batch"] <= 16
    # Each window's 1 s crop is an encoder row too: both scales count in the throughput.
    assert r["crops"] == r["windows"]
    assert r["windows_per_s"] == pytest.approx(2 * r["full_windows_per_s"], rel=0.01)
    no_crops = cfg.model_copy(update={"short_window_s": 0})
    off = run_config(backend, profile, replay, streams=4, seconds=0.5, cfg=no_crops, commit=None)
    assert off["crops"] == 0 and off["windows"] > 0
    assert r["latency_ms"]["n"] == r["windows"] and 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["p99"]
    opened = [e for e in committed if e.kind == "opened"]
    assert (
        0 < len(opened) == r["episodes"]["opened"] == r["alert_latency_ms"]["n"]
    )  # the abnormal clips alert


def test_bench_cli_writes_a_figure_per_backend_stream_count_and_mode(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    empty = tmp_path / "no-data"
    empty.mkdir()  # no datasets here: the bench falls back to procedural motion
    args = ["--streams", "2", "--seconds", "0.5", "--json", str(out), "--data-root", str(empty)]
    result = CliRunner().invoke(app, ["bench", "worker", *args])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    got = {(r["backend"], r["streams"], r["mode"]): r["windows_per_s"] for r in report["results"]}
    assert set(got) == {(b, 2, m) for b in ("onnxruntime", "torch") for m in ("flat_out", "realtime")}
    # Real time: two 30 fps cameras at stride 5 offer 2 x 4 windows/s.
    assert all(0 < v <= 12 for (_, _, m), v in got.items() if m == "realtime")
    assert report["source"].startswith("procedural")
    for option, value in (("--backends", "tflite"), ("--modes", "sometimes")):
        bad = CliRunner().invoke(app, ["bench", "worker", option, value])
        assert bad.exit_code != 0 and option in bad.output


def test_bench_cli_refuses_what_it_cannot_measure_or_write_before_measuring(tmp_path: Path) -> None:
    quick = ["--seconds", "0.5", "--streams", "1", "--backends", "torch", "--modes", "flat_out"]
    for args, said in (
        (["--encoder", str(DEFAULT_HUMANMAC_PATH)], "is a 'haad.humanmac' checkpoint, not 'haad.encoder'"),
        (["--encoder", str(tmp_path / "absent.safetensors")], "checkpoint needs both"),
        (["--json", str(tmp_path)], "is a folder; give a file name"),
    ):
        result = CliRunner().invoke(app, ["bench", "worker", *quick, *args])
        assert result.exit_code == 2 and "error: " in result.output and said in result.output, result.output
        assert "backend" not in result.output  # refused before any measurement
    for streams in ("0", ","):
        result = CliRunner().invoke(app, ["bench", "worker", "--streams", streams])
        assert result.exit_code == 2 and "stream counts of at least 1" in result.output, result.output
    result = CliRunner().invoke(
        app, ["bench", "support-aug", "--model", str(tmp_path / "absent.safetensors")]
    )
    assert result.exit_code == 2 and "error: checkpoint needs both" in result.output, result.output
