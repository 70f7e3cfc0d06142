"""A sink new to the alert log (its first run, or just configured) whose housekeeping started while
the log was down: the alerts the outage held back reach the log when it answers, maybe before
housekeeping does, and the sink gets their events all the same. Its cursor used to start after the
newest event when housekeeping first reached the log, so a worker that delivered its outbox first
had every event of those alerts passed over: no webhook call, no MQTT message, ever."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from mqtt_helpers import closed, new_alert
from test_webhook import Receiver

from config.edge import EdgeConfig
from edge import services
from edge.store import AlertStore
from tests.edge.test_alerts_sink import wait_for


@pytest.mark.parametrize("held_back", ["open", "open and close", "open, housekeeping refused twice"])
def test_a_new_sink_gets_the_alerts_the_log_got_before_housekeeping_reached_it(
    tmp_path: Path, held_back: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(url) as store:
        store.write_alerts([closed(new_alert("cam0"))])  # before haad started: not the new sink's
    receiver = Receiver([])
    cfg = EdgeConfig.model_validate(
        {"store": {"url": url, "busy_timeout_s": 0.2},
         "events": {"webhooks": [{"name": "ops", "url": receiver.url}], "poll_s": 0.1},
         "profiles_dir": str(tmp_path / "profiles"), "state_dir": str(tmp_path)}
    )  # fmt: skip
    holder = sqlite3.connect(tmp_path / "alerts.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the log down: housekeeping waits for it
    caplog.set_level(logging.INFO)
    stop = threading.Event()
    housekeeping = threading.Thread(target=services.run_housekeeping, args=(cfg, stop))
    housekeeping.start()
    alert = new_alert("cam0")
    try:
        wait_for(lambda: any("waits for the alert log" in r.getMessage() for r in caplog.records))
        if held_back.endswith("twice"):
            time.sleep(1.5)  # its second try (1 s on) fails too; the next is 2 s after that
        holder.execute("COMMIT")
        # Back: the worker delivers what its outbox kept before housekeeping's next try (1 s on).
        with AlertStore(url) as store:
            store.write_alerts([alert])
            if held_back == "open and close":
                store.write_alerts([closed(alert)])
        wait_for(lambda: any("the alert log is back" in r.getMessage() for r in caplog.records))
        if held_back != "open and close":
            with AlertStore(url) as store:
                store.write_alerts([closed(alert)])
        wait_for(lambda: len(receiver.requests) >= 2, timeout_s=15)
    finally:
        stop.set()
        housekeeping.join(30)
        holder.close()
        receiver.close()
    sent = [json.loads(body) for _, _, body in receiver.requests]
    assert [(e["type"], e["alert"]["id"]) for e in sent] == [("open", 2), ("close", 2)]
