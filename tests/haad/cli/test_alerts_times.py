"""``haad alerts`` run by a site manager whose shell is in Europe/Berlin, on a log a UTC host wrote
across the spring-forward night: what the times shown and typed mean is said, and TZ changes nothing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from edge.store import AlertStore
from tests.edge.review.review_helpers import demo_alert

# 2026-03-29 01:00Z Berlin springs forward (02:00 CET -> 03:00 CEST): 02:30 does not exist there.
STARTS = [datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)]


def _haad(*args: str, db: str, tz: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": tz, "HAAD_DB": db, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "haad", "alerts", *args], env=env, capture_output=True, text=True, check=True
    )


def test_times_shown_and_typed_are_utc_whatever_the_shells_zone_and_the_help_says_so(tmp_path: Path) -> None:
    """``--help`` said only "ISO-8601": a manager in Berlin typing ``--since 2026-03-29T02:30`` could not
    tell it meant 02:30 UTC (04:30 on the wall clock), not a local time that day has not got."""
    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(db) as store:
        store.write_alerts([demo_alert("door", "demo-walk", t, seed=i + 1) for i, t in enumerate(STARTS)])
    help_text = " ".join(_haad("list", "--help", db=db, tz="Europe/Berlin").stdout.split())
    assert help_text.count("UTC unless it has an offset") == 2  # --since and --until
    outputs = {}
    for tz in ("UTC", "Europe/Berlin"):
        listed = _haad(
            "list", "--since", "2026-03-29T01:00", "--until", "2026-03-29T02:30", db=db, tz=tz
        ).stdout
        assert listed.splitlines()[0].startswith("ID  STARTED (UTC)")
        assert [line.split()[1:3] for line in listed.splitlines()[1:]] == [["2026-03-29", "01:30:00"]]
        shown = json.loads(_haad("show", "1", "--json", db=db, tz=tz).stdout)
        assert shown["started_at"] == "2026-03-29T00:30:00+00:00"  # an offset: no one reads it as local
        out = tmp_path / f"{tz.replace('/', '-')}.csv"
        _haad("export", "--out", str(out), "--since", "2026-03-29T02:30+02:00", db=db, tz=tz)
        with out.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["started_at"] for r in rows] == [t.isoformat() for t in reversed(STARTS)]
        outputs[tz] = (listed, shown)
    assert outputs["UTC"] == outputs["Europe/Berlin"]
