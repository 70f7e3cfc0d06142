"""Running ``haad run`` as users do, in its own process, and reading what it reports: its log, its
/metrics endpoint and its alert log. Shared by the daemon tests and the reliability drills."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.edge import EdgeConfig
from edge.demo import PROFILES_DIR
from edge.profiles import ProfileStore

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_profiles(folder: Path) -> Path:
    """A profile folder holding the bundled demo-walk profile (normal = walking in place)."""
    ProfileStore(folder).save(ProfileStore(PROFILES_DIR).load("demo-walk"))
    return folder


def worker_config(folder: Path, streams: tuple[str, ...] = ("cam",), **worker: Any) -> EdgeConfig:
    """The config of a worker run in a test's own process, everything in ``folder``: ``streams``
    scored against demo-walk, sent by frontends the test runs (none of the daemon's) over an ipc://
    bus deep enough for a recording sent at once, alerts in SQLite, no metrics endpoint; ``worker``:
    settings of its worker section."""
    return EdgeConfig.model_validate({
        "streams": [{"id": s, "profiles": ["demo-walk"]} for s in streams],
        "run_frontends": False,
        **({"worker": worker} if worker else {}),
        "bus": {"endpoint": f"ipc://{folder / 'bus.sock'}", "publisher_hwm": 100_000},
        "store": {"url": f"sqlite:///{folder / 'alerts.db'}"},
        "profiles_dir": str(demo_profiles(folder / "profiles")),
        "state_dir": str(folder),
        "metrics": {"enabled": False},
    })  # fmt: skip


def walk_with(abnormal: str, seconds: float, *, before: float = 8.0, after: float = 12.0) -> list[dict]:
    return [
        {"motion": "walk_in_place", "seconds": before},
        {"motion": abnormal, "seconds": seconds},
        {"motion": "walk_in_place", "seconds": after},
    ]


@dataclass
class Daemon:
    proc: subprocess.Popen[str]
    config: dict[str, Any]
    folder: Path
    log_name: str = "daemon.log"

    @property
    def port(self) -> int:
        return int(self.config["metrics"]["port"])

    @property
    def config_path(self) -> Path:
        return self.folder / "edge.yaml"

    def log(self) -> str:
        return (self.folder / self.log_name).read_text()

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]

    def record(self, prefix: str) -> dict[str, Any]:
        """The last log record whose message starts with ``prefix`` (e.g. "worker stopped")."""
        found = [r for r in self.log_records() if str(r.get("msg", "")).startswith(prefix)]
        assert found, f"no log line starting {prefix!r}"
        return found[-1]

    def metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def pids(self, child: str) -> list[int]:
        return [int(p) for p in re.findall(rf"started {child} \(pid (\d+)\)", self.log())]

    def again(self, log_name: str) -> Daemon:
        """Another ``haad run`` on the same config and state (its log in ``log_name``)."""
        return Daemon(_launch(self.config_path, self.folder / log_name), self.config, self.folder, log_name)

    def stop(self, timeout_s: float = 90) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise


def start_daemon(folder: Path, streams: list[dict], profiles_dir: Path, **overrides: Any) -> Daemon:
    """``haad run`` on a config with ``streams``, a bus, a SQLite log and metrics in ``folder``."""
    cfg: dict[str, Any] = {
        "streams": streams,
        "bus": {"endpoint": f"ipc://{folder / 'bus.sock'}"},
        "store": {"url": f"sqlite:///{folder / 'alerts.db'}"},
        "profiles_dir": str(profiles_dir),
        "reload_every_s": 0.5,
        "metrics": {"port": free_port()},
        "logging": {"format": "json", "level": "INFO"},
        "supervisor": {"initial_backoff_s": 0.5, "max_backoff_s": 2.0},
    }
    cfg.update(overrides)
    (folder / "edge.yaml").write_text(yaml.safe_dump(cfg))
    return Daemon(_launch(folder / "edge.yaml", folder / "daemon.log"), cfg, folder)


def refused_start(folder: Path, streams: list[dict], profiles_dir: Path, **overrides: Any) -> Daemon:
    """:func:`start_daemon`, which must refuse to start (exit code 2): the daemon, stopped."""
    daemon = start_daemon(folder, streams, profiles_dir, **overrides)
    try:
        assert daemon.proc.wait(timeout=60) == 2, daemon.log()
    finally:
        daemon.stop()
    return daemon


def _launch(config: Path, log_file: Path) -> subprocess.Popen[str]:
    with log_file.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "haad", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            start_new_session=True,  # our signals, not the terminal's
        )


def haad(*args: str) -> subprocess.CompletedProcess[str]:
    """A ``haad`` command, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "haad", *args], capture_output=True, text=True, cwd=ROOT)


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
