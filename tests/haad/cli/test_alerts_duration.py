"""``haad alerts list`` and ``show`` give an alert's duration as its web page does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from edge.store import AlertStore
from haad.cli.alerts import app
from tests.edge.review.review_helpers import demo_alert


def test_a_duration_on_a_tie_reads_as_on_the_alerts_page(tmp_path: Path) -> None:
    # 0.25 s and 11.25 s (whole frames at 20 fps) read 0.2s and 11.2s here, 0.3 s and 11.3 s on the
    # alerts' pages (JavaScript's toFixed rounds a tie up).
    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    start = datetime(2026, 12, 7, 4, 15, tzinfo=UTC)
    alerts = [demo_alert("door", "ward", start + timedelta(minutes=i), seed=i) for i in range(3)]
    lengths = [0.25, 11.25, 6.04]
    with AlertStore(db) as store:
        ids = store.write_alerts(
            [
                replace(a, ended_at=a.started_at + timedelta(seconds=s))
                for a, s in zip(alerts, lengths, strict=True)
            ]
        )
    runner = CliRunner()
    listed = runner.invoke(app, ["list"], env={"HAAD_DB": db})
    assert listed.exit_code == 0, listed.output
    assert [line.split()[3] for line in listed.output.splitlines()[1:]] == ["6.0s", "11.3s", "0.3s"]
    shown = runner.invoke(app, ["show", str(ids[0])], env={"HAAD_DB": db})
    assert "duration: 0.3s" in shown.output, shown.output
