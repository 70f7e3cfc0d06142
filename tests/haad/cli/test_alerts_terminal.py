"""``haad alerts`` on a terminal whose encoding is not UTF-8 (a latin-1 or ASCII locale): a note or a
reviewer's name it cannot show is escaped, never a UnicodeEncodeError after the review was saved."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.store import AlertStore
from haad.cli.alerts import app
from tests.edge.review.review_helpers import demo_alert

NOTE = "Schrank geöffnet → 人"


@pytest.mark.parametrize("charset", ["latin-1", "ascii"])
def test_review_show_and_list_escape_what_the_terminal_cannot_print(tmp_path: Path, charset: str) -> None:
    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(db) as store:
        [alert_id] = store.write_alerts([demo_alert("tür", "demo-walk", datetime.now(UTC), seed=1)])
    runner = CliRunner(charset=charset)
    env = {"HAAD_DB": db}
    review = runner.invoke(app, ["review", str(alert_id), "--status", "dismissed", "--note", NOTE,
                                 "--reviewer", "Jürgen"], env=env)  # fmt: skip
    assert review.exit_code == 0, review.output
    assert "\\u2192 \\u4eba" in review.output
    shown = runner.invoke(app, ["show", str(alert_id)], env=env)
    assert shown.exit_code == 0, shown.output
    assert "\\u2192 \\u4eba" in shown.output and "reviewed_by: J" in shown.output
    listed = runner.invoke(app, ["list"], env=env)
    assert listed.exit_code == 0 and "dismissed" in listed.output, listed.output
    with AlertStore(db) as store:
        assert store.get_alert(alert_id).note == NOTE  # only what is printed is escaped
