"""``haad alerts list`` shows an alert's profile version where it has one; an alert of a stream scored
against several profiles (``calm+ward``, edge/pipeline.py) has none and was listed as ``calm+ward v0``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from edge.store import AlertStore
from haad.cli import app
from tests.edge.review.review_helpers import demo_alert


def test_an_alert_against_several_profiles_is_listed_without_a_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    one = demo_alert("door", "calm", now - timedelta(minutes=2), seed=1)
    several = dataclasses.replace(
        demo_alert("door", "calm+ward", now - timedelta(minutes=1), seed=2), profile_version=0
    )
    with AlertStore(url) as store:
        store.write_alerts([one, several])
    r = CliRunner().invoke(app, ["alerts", "list", "--db", url])
    assert r.exit_code == 0, r.output
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert "calm" in rows["1"] and "v1" in rows["1"]
    assert "calm+ward" in rows["2"] and "v0" not in rows["2"], r.stdout
