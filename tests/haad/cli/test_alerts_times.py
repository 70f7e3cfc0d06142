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


# ``haad ARGS...`` run one after another in one process whose TZ is set from its start, as a shell's is
# (one process per zone, not per command: each start imports all of haad).
IN_ONE_SHELL = """
import contextlib, io, json, sys
from haad.cli import app
said = []
for args in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            app(args, prog_name="haad")
        except SystemExit as e:
            code = e.code
    said.append((args, code, out.getvalue()))
with open(sys.argv[2], "w") as f:
    json.dump(said, f)
"""


def _haad_in(tz: str, db: str, *commands: list[str], said: Path) -> list[str]:
    """What each ``haad alerts COMMAND`` printed, run in a shell whose zone is ``tz``; each exits 0."""
    env = {**os.environ, "TZ": tz, "HAAD_DB": db, "COLUMNS": "200"}
    run = [["alerts", *c] for c in commands]
    subprocess.run([sys.executable, "-c", IN_ONE_SHELL, json.dumps(run), str(said)], env=env, check=True)
    done = json.loads(said.read_text())
    assert [(args, code) for args, code, _ in done] == [(args, 0) for args in run], done
    return [out for _, _, out in done]


def test_times_shown_and_typed_are_utc_whatever_the_shells_zone_and_the_help_says_so(tmp_path: Path) -> None:
    """``--help`` said only "ISO-8601": a manager in Berlin typing ``--since 2026-03-29T02:30`` could not
    tell it meant 02:30 UTC (04:30 on the wall clock), not a local time that day has not got."""
    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(db) as store:
        store.write_alerts([demo_alert("door", "demo-walk", t, seed=i + 1) for i, t in enumerate(STARTS)])
    outputs = {}
    for tz in ("UTC", "Europe/Berlin"):
        out = tmp_path / f"{tz.replace('/', '-')}.csv"
        listed, shown_json, _, *help_out = _haad_in(
            tz,
            db,
            ["list", "--since", "2026-03-29T01:00", "--until", "2026-03-29T02:30"],
            ["show", "1", "--json"],
            ["export", "--out", str(out), "--since", "2026-03-29T02:30+02:00"],
            *([["list", "--help"]] if tz == "Europe/Berlin" else []),
            said=tmp_path / "said.json",
        )
        if help_out:
            help_text = " ".join(help_out[0].split())
            assert help_text.count("UTC unless it has an offset") == 2  # --since and --until
        assert listed.splitlines()[0].startswith("ID  STARTED (UTC)")
        assert [line.split()[1:3] for line in listed.splitlines()[1:]] == [["2026-03-29", "01:30:00"]]
        shown = json.loads(shown_json)
        assert shown["started_at"] == "2026-03-29T00:30:00+00:00"  # an offset: no one reads it as local
        with out.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["started_at"] for r in rows] == [t.isoformat() for t in reversed(STARTS)]
        outputs[tz] = (listed, shown)
    assert outputs["UTC"] == outputs["Europe/Berlin"]
