"""The wall clock stepped back (NTP correcting a fast clock, a clock set a year ahead then corrected, a
camera whose clock jumps) between two alerts of a stream: the later alert is still its stream's
newest, so the retained MQTT topics (``<p>/<stream>/alert``, ``<p>/<stream>/<profile>/state``,
edge/events/mqtt.py) follow it instead of staying on the alert stamped before the step until the
clock catches up."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from edge.store import AlertStore
from edge.store.outbox import pending_events
from tests.edge.events.mqtt_helpers import closed, new_alert


@pytest.mark.parametrize("step", [timedelta(seconds=-5), timedelta(hours=-1), timedelta(days=-365)])
def test_an_alert_raised_after_the_clock_stepped_back_is_its_streams_newest(
    tmp_path: Path, step: timedelta
) -> None:
    with AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}") as store:
        stamped_before = new_alert("cam1")
        store.write_alerts([closed(replace(stamped_before, started_at=stamped_before.started_at - step))])
        after = new_alert("cam1")
        (after_id,) = store.write_alerts([after])  # opened,
        store.write_alerts([closed(after)])  # then closed
        with store.reading() as s:
            events = [e.payload for e in pending_events(s, 0, 100) if e.payload["alert"]["id"] == after_id]
    assert [e["newest"] for e in events] == [{"stream": True, "profile": True}] * 2


def test_a_review_of_an_older_alert_still_leaves_the_newest_one_retained(tmp_path: Path) -> None:
    with AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}") as store:
        older = closed(new_alert("cam1"))
        (older_id,) = store.write_alerts([older])
        store.write_alerts([replace(new_alert("cam1"), started_at=older.started_at + timedelta(seconds=30))])
        store.set_status(older_id, "dismissed", "", reviewer="bob")
        with store.reading() as s:
            review = pending_events(s, 0, 100)[-1].payload
    assert review["alert"]["id"] == older_id and review["newest"] == {"stream": False, "profile": False}
