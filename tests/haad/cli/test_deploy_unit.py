"""deploy/haad.service runs the CLI as it is, in the folders deploy/edge.example.yaml names, and a
deployment that cannot run is not restarted in a loop; deploy/haad-frontend.service and
deploy/haad-serve.service run a frontend host's `haad frontend run` and a review host's `haad serve`
as the daemon's unit runs `haad run`."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from haad.cli import app
from tests.daemon_harness import alive, demo_profiles, free_port, wait

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
runner = CliRunner()


UNITS = ["haad.service", "haad-frontend.service", "haad-serve.service"]


def unit_settings(name: str = "haad.service") -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def start_as_systemd(
    unit: dict[str, list[str]], config: Path, log: Path, cwd: Path | str
) -> subprocess.Popen[bytes]:
    """The unit's command line (this venv's haad, ``config`` for its /etc/haad file) and environment,
    output into ``log``, in a session of its own (the unit's control group)."""
    binary, *args = shlex.split(unit["ExecStart"][0])
    argv = [str(Path(sys.executable).parent / Path(binary).name)]
    argv += [str(config) if a.startswith("/etc/haad/") and a.endswith(".yaml") else a for a in args]
    env = {"PATH": os.environ["PATH"], "HOME": str(log.parent), "LANG": "C.UTF-8"}
    env |= dict(e.split("=", 1) for line in unit["Environment"] for e in shlex.split(line))
    with log.open("w") as out:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this host")
@pytest.mark.parametrize("name", UNITS)
def test_systemd_reads_every_setting_of_the_unit(tmp_path: Path, name: str) -> None:
    """A misspelt key or a bad value is only a warning, logged as systemd ignores it (exit 0 too): a
    sandbox setting would be silently off. ExecStart must name a program that exists: this venv's."""
    binary = shlex.split(unit_settings(name)["ExecStart"][0])[0]
    unit = tmp_path / name
    here = str(Path(sys.executable).parent / Path(binary).name)
    unit.write_text((DEPLOY / name).read_text().replace(binary, here))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and not result.stdout + result.stderr, result.stdout + result.stderr


def test_a_deployment_that_cannot_run_exits_from_the_main_process_with_a_code_not_restarted(
    tmp_path: Path,
) -> None:
    unit = unit_settings()
    # A failing ExecStartPre is restarted whatever its code: RestartPreventExitStatus reads only the
    # main process's.
    assert not {k for k in unit if k.startswith("ExecStart") and k != "ExecStart"}, unit
    binary, *args = shlex.split(unit["ExecStart"][0])
    assert binary == "/opt/haad/.venv/bin/haad"
    bad = tmp_path / "edge.yaml"
    bad.write_text("strems: []\n")
    result = runner.invoke(app, [str(bad) if a == "/etc/haad/edge.yaml" else a for a in args])
    assert result.exit_code == 2 and "strems: Extra inputs are not permitted" in result.output
    assert str(result.exit_code) in unit["RestartPreventExitStatus"][0].split()


def test_the_example_configuration_keeps_its_state_where_the_unit_lets_it_write() -> None:
    unit = unit_settings()
    state = Path("/var/lib") / unit["StateDirectory"][0]
    assert unit["WorkingDirectory"] == [str(state)] and str(state) in unit["ReadWritePaths"][0].split()
    example = yaml.safe_load((DEPLOY / "edge.example.yaml").read_text())
    written = [example["state_dir"], example["profiles_dir"], make_url(example["store"]["url"]).database]
    assert all(Path(p).is_relative_to(state) for p in written), written


def test_env_secrets_have_a_file_the_unit_reads_beside_the_configuration() -> None:
    """edge.yaml's {env: NAME} secrets: the service's environment is the unit's, not the shell's."""
    unit = unit_settings()
    (env_file,) = unit["EnvironmentFile"]
    assert Path(env_file.removeprefix("-")).parent == Path("/etc") / unit["ConfigurationDirectory"][0]


@pytest.mark.parametrize("name", ["haad.service", "haad-frontend.service"])
def test_a_stop_signals_the_daemon_alone_which_stops_its_children_in_order(name: str) -> None:
    """A frontend has no SIGTERM handler (the daemon's stop event ends it once it sent what it
    holds): signalled with the daemon, as KillMode=control-group does, it died with its frames."""
    assert unit_settings(name)["KillMode"] == ["mixed"]


def test_a_frontend_host_has_a_unit_whose_bad_file_is_not_restarted(tmp_path: Path) -> None:
    """A site's camera hosts run `haad frontend run` (docs/bus.md): without a unit of their own each
    wrote one, by hand, from the daemon's."""
    unit = unit_settings("haad-frontend.service")
    assert (
        unit["User"] == unit_settings()["User"]
        and unit["EnvironmentFile"] == unit_settings()["EnvironmentFile"]
    )
    binary, *args = shlex.split(unit["ExecStart"][0])
    assert binary == "/opt/haad/.venv/bin/haad" and args[:2] == ["frontend", "run"]
    bad = tmp_path / "frontend.yaml"
    bad.write_text("bus: {endpoint: tcp://worker:5555}\nstrems: []\n")
    result = runner.invoke(app, [str(bad) if a == "/etc/haad/frontend.yaml" else a for a in args])
    assert result.exit_code == 2 and "strems" in result.output
    assert str(result.exit_code) in unit["RestartPreventExitStatus"][0].split()


def test_the_frontend_units_command_sends_and_stops_on_its_signal_within_its_timeout(tmp_path: Path) -> None:
    """As systemd runs it: the unit's command line and environment on a synthetic camera, stopped with
    KillSignal to the main process alone; the camera process must be gone when it exits."""
    from bus.pubsub import Subscriber

    unit = unit_settings("haad-frontend.service")
    endpoint = f"ipc://{tmp_path / 'bus.sock'}"
    config = tmp_path / "frontend.yaml"
    config.write_text(yaml.safe_dump({"bus": {"endpoint": endpoint}, "streams": [{"id": "cam0"}]}))
    log = tmp_path / "frontend.log"
    with Subscriber(endpoint) as sub:
        proc = start_as_systemd(unit, config, log, tmp_path)
        try:
            got = None
            deadline = time.monotonic() + 60
            while got is None and proc.poll() is None and time.monotonic() < deadline:
                got = sub.recv(200)
            assert got is not None and got.stream_id == "cam0", log.read_text()
            proc.send_signal(signal.Signals[unit["KillSignal"][0]])
            code = proc.wait(timeout=float(unit["TimeoutStopSec"][0]))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert code == 0, log.read_text()
    left = [int(p) for p in os.listdir("/proc") if p.isdigit() and _session(int(p)) == proc.pid]
    assert not [p for p in left if alive(p)], left


@pytest.mark.slow  # the whole daemon, MediaPipe on a video
def test_the_units_command_runs_the_example_and_stops_on_its_signal_within_its_timeout(
    tmp_path: Path, data_root: Path
) -> None:
    """As systemd runs it: the unit's command line, environment and working directory on
    deploy/edge.example.yaml (its camera a looped video, its state folder this test's), stopped
    with KillSignal to the main process alone (KillMode=mixed). What is left in the unit when the
    daemon exits gets SIGKILL: it must wait for all its children."""
    unit = unit_settings()
    state = str(Path("/var/lib") / unit["StateDirectory"][0])
    example = yaml.safe_load((DEPLOY / "edge.example.yaml").read_text().replace(state, str(tmp_path)))
    (stream,) = example["streams"]
    video = data_root / "mediapipe_pose_testdata" / "pose_squats.mp4"
    stream.update(source={"kind": "video", "path": str(video), "loop": True}, profiles=["demo-walk"])
    demo_profiles(Path(example["profiles_dir"]))
    example["bus"] = {"endpoint": f"ipc://{tmp_path / 'bus.sock'}"}  # the unit's /tmp is its own
    example["metrics"]["port"] = free_port()
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(example))
    log = tmp_path / "daemon.log"
    proc = start_as_systemd(unit, config, log, unit["WorkingDirectory"][0].replace(state, str(tmp_path)))
    try:
        wait(lambda: proc.poll() is not None or "bus: connected to" in log.read_text(), 90, "the camera")
        assert proc.poll() is None, log.read_text()
        proc.send_signal(signal.Signals[unit["KillSignal"][0]])
        code = proc.wait(timeout=float(unit["TimeoutStopSec"][0]))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 0, log.read_text()
    left = [int(p) for p in os.listdir("/proc") if p.isdigit() and _session(int(p)) == proc.pid]
    assert not [p for p in left if alive(p)], left


def _session(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[4])
    except (OSError, IndexError, ValueError):
        return None


def test_a_review_host_has_a_unit_whose_bad_file_is_not_restarted(tmp_path: Path) -> None:
    """A site's review host runs `haad serve` on the shared alert log (docs/alerts.md): without a unit
    of its own it was written by hand from the daemon's."""
    unit = unit_settings("haad-serve.service")
    assert (
        unit["User"] == unit_settings()["User"]
        and unit["EnvironmentFile"] == unit_settings()["EnvironmentFile"]
    )
    binary, *args = shlex.split(unit["ExecStart"][0])
    assert binary == "/opt/haad/.venv/bin/haad" and args[:1] == ["serve"]
    bad = tmp_path / "edge.yaml"
    bad.write_text("strems: []\n")
    result = runner.invoke(app, [str(bad) if a == "/etc/haad/edge.yaml" else a for a in args])
    assert result.exit_code == 2 and "strems" in result.output
    assert str(result.exit_code) in unit["RestartPreventExitStatus"][0].split()


def test_the_serve_units_command_answers_and_stops_on_its_signal_within_its_timeout(tmp_path: Path) -> None:
    """As systemd runs it, on an alert log a worker made, its state in the unit's writable folder."""
    from config.store import StoreConfig
    from edge.store import AlertStore

    unit = unit_settings("haad-serve.service")
    state = str(Path("/var/lib") / unit["StateDirectory"][0])
    store = f"sqlite:///{tmp_path / 'alerts.db'}"
    AlertStore(StoreConfig(url=store)).close()
    port = free_port()
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump({"store": {"url": store}, "state_dir": str(tmp_path), "serve": {"port": port}})
    )
    log = tmp_path / "serve.log"
    proc = start_as_systemd(unit, config, log, unit["WorkingDirectory"][0].replace(state, str(tmp_path)))
    try:
        wait(lambda: proc.poll() is not None or _answers(port), 60, "the review server")
        assert proc.poll() is None, log.read_text()
        proc.send_signal(signal.Signals[unit["KillSignal"][0]])
        code = proc.wait(timeout=float(unit["TimeoutStopSec"][0]))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 0, log.read_text()


def _answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
