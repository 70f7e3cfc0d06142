"""A command that logs (``bus.logs.setup_logging`` takes fd 2) still says why it could not start, as
one plain line on the terminal's stderr: run as a user runs it, a process of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edge.store import AlertStore


def _haad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "haad", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_serve_on_a_missing_alert_log_says_so(tmp_path: Path, log_format: str) -> None:
    # It exited 1 saying nothing: the refusal went into the log's capture of fd 2 as it exited. A
    # missing file in a folder that exists is waited for (test_serve_log_down_at_start.py); a missing
    # folder, a typo, is refused.
    missing = tmp_path / "no-such-folder" / "alerts.db"
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump({"store": {"url": f"sqlite:///{missing}"}, "logging": {"format": log_format}})
    )
    done = _haad("serve", "--config", str(config), "--no-auth", "--port", str(_free_port()))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith(f"error: no alert database at {missing}")
    assert not missing.parent.exists()


def test_serve_on_a_busy_port_says_so_in_plain_words_under_a_json_log(tmp_path: Path) -> None:
    # Under the default json log it came as {"level": "INFO", "logger": "native", "msg": "error: ..."}.
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    AlertStore(url).close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _haad("serve", "--db", url, "--no-auth", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(
        f"error: the review server cannot listen on 127.0.0.1:{port}"
    )


def test_events_run_on_a_missing_alert_log_says_so(tmp_path: Path) -> None:
    # Its refusal was lost about one run in five, behind the log's capture of fd 2.
    missing = tmp_path / "alerts.db"
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump(
            {"store": {"url": f"sqlite:///{missing}"}, "events": {"mqtt": {"url": "mqtt://127.0.0.1:9"}}}
        )
    )
    for _ in range(3):  # a lost line was a race with the capture's reader thread: more than one try
        done = _haad("events", "run", "--config", str(config))
        assert done.returncode == 1
        assert done.stderr.splitlines()[-1].startswith(f"error: no alert database at {missing}")
