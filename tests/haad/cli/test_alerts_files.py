"""``haad alerts export`` and ``show --plot`` where the file cannot be written (a full disk, a file
where a folder goes): one line and exit 1, and no half-written export left (a traceback and a partial
file before). An export into a folder that is not there is bad usage (exit 2), not a folder made."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.store import AlertStore
from haad.cli.alerts import app
from tests.edge.review.review_helpers import demo_alert
from tests.faults import fill

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(url) as store:
        store.write_alerts([demo_alert("door", "demo-walk", datetime.now(UTC), seed=i) for i in range(3)])
    return url


@pytest.mark.parametrize("args", [["show", "1", "--plot", "{nowhere}/t.png"],
                                  ["export", "--out", "{tmp}/a.csv", "--windows", "{nowhere}/w"]])  # fmt: skip
def test_a_file_that_cannot_be_written_is_one_line_and_exit_1(
    db: str, tmp_path: Path, args: list[str]
) -> None:
    nowhere = tmp_path / "a-file"
    nowhere.write_text("where a folder should be")
    result = runner.invoke(app, [a.format(nowhere=nowhere, tmp=tmp_path) for a in args], env={"HAAD_DB": db})
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"error: cannot write {nowhere}/") and "Traceback" not in result.output


@pytest.mark.parametrize("folder", ["typo", "a-file"])
def test_an_export_into_a_folder_that_is_not_there_is_refused_not_made(
    db: str, tmp_path: Path, folder: str
) -> None:
    (tmp_path / "a-file").write_text("where a folder should be")
    out = tmp_path / folder / "alerts.csv"
    result = runner.invoke(app, ["export", "--out", str(out)], env={"HAAD_DB": db})
    assert result.exit_code == 2 and result.output == f"error: --out {out}: no folder {out.parent}\n"
    assert not (tmp_path / "typo").exists()


def test_an_export_to_a_full_disk_leaves_no_half_file(db: str, full_disk: Path) -> None:
    (full_disk / "old.jsonl").write_text("the previous export\n")
    fill(full_disk)
    for name in ("old.jsonl", "new.jsonl", "new.jsonl"):  # over an earlier export, a new one, again
        result = runner.invoke(app, ["export", "--out", str(full_disk / name)], env={"HAAD_DB": db})
        assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "old.jsonl"]
    assert (full_disk / "old.jsonl").read_text() == "the previous export\n"
