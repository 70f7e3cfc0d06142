"""``haad alerts`` before the daemon's first start: the README's order (config, enrol, then `alerts
list --config edge.yaml`) meets no alert log yet, and the error must say why, not ask for --config."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from haad.cli import app


def test_alerts_list_before_the_first_run_names_the_file_and_who_makes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It said "no alert database at haad-alerts.db (give --config edge.yaml, --db or set HAAD_DB)" to a
    # user who had given --config edge.yaml, naming the file relative to a folder it did not name.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "edge.yaml").write_text("store: {url: 'sqlite:///haad-alerts.db'}\n")
    result = CliRunner().invoke(app, ["alerts", "list", "--config", "edge.yaml"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"error: no alert database at {tmp_path / 'haad-alerts.db'}: the daemon makes it when it first "
        "starts (haad run); another alert log: --db, HAAD_DB or store.url in --config edge.yaml"
    ]
    assert not (tmp_path / "haad-alerts.db").exists()
