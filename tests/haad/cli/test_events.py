"""``haad events`` as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edge.store import AlertStore

ROOT = Path(__file__).resolve().parents[3]


def test_events_run_refuses_a_secret_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    """An unset password variable ended `haad events run` in a traceback (haad run refuses it at
    start, exit 2, one line)."""
    AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}").close()
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"store: {{url: 'sqlite:///{tmp_path / 'alerts.db'}'}}\n"
        "events: {mqtt: {url: 'mqtt://haad@127.0.0.1:1883', password: {env: HAAD_TEST_UNSET_PASSWORD}}}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "haad", "events", "run", "--config", str(config)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "error: events.mqtt.password: environment variable HAAD_TEST_UNSET_PASSWORD is not set"
    )
