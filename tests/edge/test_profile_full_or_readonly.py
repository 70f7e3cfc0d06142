"""Marking an alert normal while ``profiles_dir`` is on a full or a read-only file system (a real
tmpfs, filled or remounted read-only): the reviewer gets a clear refusal from the review API and the
CLI, nothing half-written stays, the alert is not dismissed nor its mark recorded, and once the disk
is writable again the same mark goes through."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edge.feedback import feedback_history
from edge.profiles import ProfileStore
from edge.store import AlertStore
from haad.cli import app
from tests.edge.review.review_helpers import AUTH, Seeded, review_client, seed
from tests.faults import fill

runner = CliRunner()


@pytest.fixture
def seeded(tmp_path: Path, full_disk: Path) -> Seeded:
    """The seeded alert log in ``tmp_path``, its profiles on the small file system ``full_disk``."""
    return seed(f"sqlite:///{tmp_path / 'alerts.db'}", full_disk)


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    with review_client(seeded) as c:
        yield c


def _nothing_written(seeded: Seeded, alert_id: int) -> None:
    folder = seeded.profiles / "demo-walk"
    assert ProfileStore(seeded.profiles).versions("demo-walk") == [1]
    assert not [p for p in folder.rglob("*") if p.name.startswith(".v") or p.name.startswith("v0002")]
    with AlertStore(seeded.url) as log:
        assert log.get_alert(alert_id).status == "new" and feedback_history(log, alert_id) == []


def _remount(folder: Path, how: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{how}", str(folder)], check=True, capture_output=True)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_marking_normal_on_a_profiles_dir_that_takes_no_write_is_refused_clearly_and_can_be_redone(
    tmp_path: Path, seeded: Seeded, client: TestClient, fault: str
) -> None:
    # Read-only, it was a server error (500) and a traceback from the CLI: the profile's lock file
    # could not be opened for writing.
    alert_id = seeded.ids[0]
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles)}))
    why = "No space left on device" if fault == "full" else "Read-only file system"
    if fault == "full":
        fill(seeded.profiles)
    else:
        _remount(seeded.profiles, "ro")
    for scope in ("all", "camera"):
        r = client.post(f"/api/v1/alerts/{alert_id}/normal", json={"scope": scope}, headers=AUTH)
        assert r.status_code == 409 and r.json()["detail"].endswith(why), (scope, r.text)
        cli = runner.invoke(app, ["alerts", "review", str(alert_id), "--normal", "--scope", scope, "--yes",
                                  "--config", str(cfg)])  # fmt: skip
        assert cli.exit_code == 1 and cli.output.splitlines()[-1].endswith(why), cli.output
        assert cli.exception is None or isinstance(cli.exception, SystemExit), cli.exception
        _nothing_written(seeded, alert_id)
    if fault == "full":
        (seeded.profiles / "filler").unlink()
    else:
        _remount(seeded.profiles, "rw")
    r = client.post(f"/api/v1/alerts/{alert_id}/normal", json={"scope": "all"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    with AlertStore(seeded.url) as log:
        assert log.get_alert(alert_id).status == "dismissed"
