"""Mark as normal (and undo) on an alert log that refuses the write: no profile version is made
that the log does not record (a real SQLite log whose trigger refuses feedback rows, as a read-only
file or a server gone would); on a profile whose newest version is damaged: added to the one the
daemon serves. Through ``haad alerts review``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml
from review_helpers import Seeded
from typer.testing import CliRunner

from edge.profiles import ProfileStore
from edge.store import AlertStore
from haad.cli import app

runner = CliRunner()


def _refuse_feedback(db: Path, refuse: bool) -> None:
    with sqlite3.connect(db) as c:
        if refuse:
            c.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON profile_feedback "
                "BEGIN SELECT RAISE(ABORT, 'the log refuses writes'); END"
            )
        else:
            c.execute("DROP TRIGGER refuse")


def test_a_log_refusing_the_feedback_row_leaves_the_profile_at_its_version(
    tmp_path: Path, seeded: Seeded
) -> None:
    # The version was saved before the row was written: each refused try silenced the action with
    # a version no row recorded (undo could not take it out) and the next try added its windows again.
    db = Path(seeded.url.removeprefix("sqlite:///"))
    alert_id = seeded.ids[0]
    versions = ProfileStore(seeded.profiles)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles)}))
    review = ["alerts", "review", str(alert_id), "--scope", "all", "--yes", "--config", str(cfg)]
    _refuse_feedback(db, True)
    for _ in range(2):
        r = runner.invoke(app, [*review, "--normal"])
        assert r.exit_code == 1 and "the log refuses writes" in r.output, r.output
        assert versions.latest_version("demo-walk") == 1
    _refuse_feedback(db, False)
    r = runner.invoke(app, [*review, "--normal"])
    assert r.exit_code == 0 and "v1 -> v2" in r.output, r.output
    _refuse_feedback(db, True)
    r = runner.invoke(app, [*review, "--undo-normal"])
    assert r.exit_code == 1 and versions.latest_version("demo-walk") == 2, r.output
    _refuse_feedback(db, False)
    r = runner.invoke(app, [*review, "--undo-normal"])
    assert r.exit_code == 0 and versions.latest_version("demo-walk") == 3, r.output
    with AlertStore(seeded.url) as store:
        assert store.get_alert(alert_id).status == "new"


def test_marking_normal_adds_to_the_newest_version_that_loads_as_enrolment_does(
    tmp_path: Path, seeded: Seeded
) -> None:
    # A damaged newest version (a disk fault) is passed over by the daemon, which serves the one
    # before, and by `haad enroll --behaviour`; marking normal refused the profile outright.
    folder = seeded.profiles / "demo-walk"
    (folder / "v0002.json").write_bytes((folder / "v0001.json").read_bytes())
    (folder / "v0002.npz").write_bytes((folder / "v0001.npz").read_bytes()[:100])
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles)}))
    r = runner.invoke(app, ["alerts", "review", str(seeded.ids[0]), "--normal", "--scope", "all", "--yes",
                            "--config", str(cfg)])  # fmt: skip
    assert r.exit_code == 0 and "v1 -> v3" in r.output, r.output
    v1, v3 = (
        ProfileStore(seeded.profiles).load("demo-walk", 1),
        ProfileStore(seeded.profiles).load("demo-walk"),
    )
    assert v3.version == 3 and len(v3.windows) > len(v1.windows)
