"""``haad alerts show`` of an alert whose windows retention dropped: the rest of it is still there."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np

from config.store import RetentionConfig
from edge.store import AlertStore
from edge.store.retention import prune
from tests.edge.store.conftest import MakeAlert
from tests.edge.store.test_alerts_cli import run


def test_show_after_retention_dropped_the_windows_prints_the_alert_and_its_timeline(
    sqlite_url: str, make_alert: MakeAlert
) -> None:
    """It printed only "windows: dropped by retention": not the alert, nor the timeline kept for it."""
    line = np.stack([np.arange(20) * 0.25, np.linspace(1.0, 2.0, 20)], axis=1)
    with AlertStore(sqlite_url) as store:
        [alert_id] = store.write_alerts(
            [make_alert(stream_id="dock", timeline=line, started_at=datetime.now(UTC) - timedelta(hours=1))]
        )
        assert prune(store, RetentionConfig(windows_days=0.0001)).windows_dropped == 1
    result = run("show", str(alert_id), db=sqlite_url)
    assert result.exit_code == 0, result.output
    assert re.search(rf"^\s+id: {alert_id}$", result.output, re.M)
    assert re.search(r"^\s+stream_id: dock$", result.output, re.M)
    assert "stored windows: dropped by retention" in result.output
    assert "score timeline (each window's score at the moment it is about; 20 moments" in result.output
    as_json = json.loads(run("show", str(alert_id), "--json", db=sqlite_url).output)
    assert as_json["windows"] is None and np.array_equal(np.array(as_json["timeline"]), line)
