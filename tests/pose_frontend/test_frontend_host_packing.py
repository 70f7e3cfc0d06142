"""A camera host running ``haad frontend run`` packs its cameras and logs as ``haad run`` does
(``cameras_per_frontend``, ``pose_threads``, ``logging``), and a looped file's seam that the bus
guard would refuse is warned of where the file is checked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bus import Subscriber
from bus.messages import SkeletonFrame
from haad.cli import app


def _spawned_children(pid: int) -> list[int]:
    """The multiprocessing children of ``pid`` that run a frontend (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    spawned = []
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:  # ended meanwhile
            continue
        if b"spawn_main" in cmdline:
            spawned.append(int(child))
    return spawned


def test_frontend_run_packs_two_looped_videos_into_one_process_logging_json(
    tmp_path: Path, mp_testdata: Path
) -> None:
    # A camera host ran a process per camera (about 320 MB each against about 40 MB packed) and
    # logged text lines only: cameras_per_frontend and logging were refused as "an edge.yaml"'s.
    endpoint = f"ipc://{tmp_path}/bus.sock"
    config = tmp_path / "frontend.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "bus": {"endpoint": endpoint},
                "cameras_per_frontend": 2,
                "pose_threads": 1,
                "logging": {"format": "json", "level": "INFO"},
                "streams": [
                    {"id": "squats", "source": {"kind": "video", "path": str(mp_testdata / "pose_squats.mp4"),
                                                "loop": True, "realtime": False}},
                    {"id": "pose1", "source": {"kind": "video", "path": str(mp_testdata / "pose_1.mp4"),
                                               "loop": True, "realtime": False}},
                ],
            }
        )
    )  # fmt: skip
    frames: list[SkeletonFrame] = []
    done = threading.Event()

    def receive(sub: Subscriber) -> None:
        while not done.is_set():
            if (frame := sub.recv(timeout_ms=100)) is not None:
                frames.append(frame)

    def published(stream: str) -> int:
        return sum(f.stream_id == stream for f in frames)

    with Subscriber(endpoint) as sub:
        subscriber = threading.Thread(target=receive, args=(sub,))
        subscriber.start()
        cli = subprocess.Popen(
            [sys.executable, "-m", "haad", "frontend", "run", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            while not (published("squats") >= 3 and published("pose1") >= 3):
                assert cli.poll() is None and time.monotonic() < deadline, cli.communicate(timeout=30)
                time.sleep(0.05)
            processes = _spawned_children(cli.pid)
            cli.send_signal(signal.SIGTERM)
            out, err = cli.communicate(timeout=60)
        finally:
            cli.kill()
            done.set()
            subscriber.join()
    assert cli.returncode == 0, out + err
    assert len(processes) == 1, (processes, out, err)  # both cameras in one process
    assert "2 stream(s) in 1 frontend process(es)" in out
    lines = [line for line in err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is a JSON object, the children's too
    assert any(r["msg"].startswith("started streams squats, pose1 (pid") for r in records), err
    assert {r["pid"] for r in records} > {cli.pid}, err  # the frontend process logged as json too


def test_frontend_run_logs_as_haad_run_by_default_and_as_its_file_says(tmp_path: Path) -> None:
    # haad run's default is json lines; a frontend host logged text, whatever its file said.
    source = {"kind": "synthetic", "realtime": False, "script": [{"motion": "idle", "seconds": 0.2}]}
    base = {"bus": {"endpoint": f"ipc://{tmp_path}/bus.sock"}, "streams": [{"id": "a", "source": source}]}
    for name, logging, is_json in [("default", None, True), ("text", {"format": "text"}, False)]:
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml.safe_dump({**base, **({"logging": logging} if logging else {})}))
        cli = subprocess.run(
            [sys.executable, "-m", "haad", "frontend", "run", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        started = [line for line in cli.stderr.splitlines() if "started stream a (pid" in line]
        assert len(started) == 1, cli.stderr
        assert started[0].startswith("{") is is_json, cli.stderr
        if is_json:
            assert json.loads(started[0])["level"] == "INFO"


def _looped(max_time_jump_s: float, **more: object) -> dict[str, object]:
    return {
        "bus": {"guard": {"max_time_jump_s": max_time_jump_s}},
        "streams": [
            {"id": "lobby", "source": {"kind": "synthetic", "fps": 10, "loop": True}},
            {"id": "still", "source": {"kind": "synthetic", "fps": 10}},
        ],
        **more,
    }


@pytest.mark.parametrize(("max_time_jump_s", "warned"), [(5, True), (10.1, True), (10.2, False), (60, False)])
@pytest.mark.parametrize("kind", ["edge.yaml", "frontend"])
def test_validate_warns_of_a_loop_seam_the_guard_refuses(
    tmp_path: Path, kind: str, max_time_jump_s: float, warned: bool
) -> None:
    # A looped file's next pass starts 10 s and a frame (here 0.1 s) after the last one ended; a guard
    # refusing that jump lost about a second of frames after every seam, and nothing said why.
    path = tmp_path / "f.yaml"
    more = {"state_dir": str(tmp_path / "state")} if kind == "edge.yaml" else {}
    path.write_text(yaml.safe_dump(_looped(max_time_jump_s, **more)))
    args = ["config", "validate", str(path)] + (["--frontend"] if kind == "frontend" else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    seam = [line for line in result.output.splitlines() if "source.loop" in line]
    assert bool(seam) is warned, result.output
    if warned:
        [line] = seam  # the looped stream only
        assert "streams.0 (lobby)" in line and f"bus.guard.max_time_jump_s ({max_time_jump_s:g} s)" in line
        assert "10 s and a frame (0.1 s)" in line
