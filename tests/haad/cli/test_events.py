"""``haad events`` as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from edge.store import AlertStore
from edge.store.models import Event
from edge.store.outbox import cursor_states, ensure_cursor, prune_events
from tests.edge.events.mqtt_helpers import new_alert

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


def test_a_removed_sink_is_forgotten_and_retention_prunes_what_it_kept(tmp_path: Path) -> None:
    """Retention keeps the events any sink in the alert log has not had: a webhook removed from
    the config kept every event from then on, forever, with no way to let them go."""
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(url) as store:
        with store.writing() as s:
            ensure_cursor(s, "webhook:old", start="all")
        store.write_alerts([new_alert("cam1", closed=True)])
        with store.writing() as s:
            s.execute(update(Event).values(created_at=datetime.now(UTC) - timedelta(days=30)))
        week_ago = datetime.now(UTC) - timedelta(days=7)
        with store.writing() as s:
            assert prune_events(s, week_ago) == 0  # kept for webhook:old
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"store: {{url: '{url}'}}\nevents: {{webhooks: [{{name: ops, url: 'http://127.0.0.1:9/hook'}}]}}\n"
    )
    run = [sys.executable, "-m", "haad", "events", "forget", "--config", str(config)]
    still = subprocess.run([*run, "webhook:ops"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert still.returncode == 2 and "still in the config" in still.stderr
    done = subprocess.run([*run, "webhook:old"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with AlertStore(url) as store, store.writing() as s:
        assert prune_events(s, week_ago) == 2  # open and close
        assert [c.sink for c in cursor_states(s)] == []


@pytest.mark.timeout(90)  # the wait for its start line reads stderr without a deadline of its own
def test_events_run_stops_cleanly_on_sigterm_as_systemd_sends_it(tmp_path: Path) -> None:
    """It had no SIGTERM handler: under systemd it died where it stood, its sinks never closed."""
    import signal
    import time

    AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}").close()
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"store: {{url: 'sqlite:///{tmp_path / 'alerts.db'}'}}\n"
        "events: {webhooks: [{name: ops, url: 'http://127.0.0.1:9/hook'}], poll_s: 0.2}\n"
    )
    proc = subprocess.Popen([sys.executable, "-m", "haad", "events", "run", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:  # a fixed sleep lost the race to a slow start on a loaded host
        if "delivering events to webhook:ops" in line:
            break
    time.sleep(0.5)  # polling
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip().endswith("stopped") and "Traceback" not in err
