"""A damaged alert outbox (not a database, truncated, emptied under its write-ahead log by a crash or
a hand) meets a starting worker: it is set aside for recovery and a fresh one started, so that the
worker's alerts are on disk again at once, and it says so; nothing the file still held is dropped
silently (the write-ahead log of an emptied file, which SQLite deletes on opening, is kept aside)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import textwrap
from pathlib import Path

import pytest

from config.store import StoreConfig
from edge.alert_outbox import AlertOutbox
from edge.alerts_sink import AlertSink
from tests.edge.test_alerts_sink import event, rows, wait_for, waiting
from tests.forked import haad, run_forked

STAMP = r"\.damaged-\d{8}T\d{6}\.\d{6}Z"


def down(folder: Path) -> str:
    """The URL of an alert log that cannot be reached: its folder would be under a file."""
    (folder / "not-a-folder").touch()
    return f"sqlite:///{folder}/not-a-folder/alerts.db"


def killed_worker_leaves(outbox: Path) -> None:
    """A worker with the log down puts two states into the outbox and is killed (SIGKILL): they stay
    in the write-ahead log."""
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from config.store import StoreConfig
        from edge.alerts_sink import AlertSink
        from tests.edge.test_alerts_sink import event, wait_for, waiting
        sink = AlertSink(StoreConfig(url={down(outbox.parent)!r}), Path({str(outbox)!r}), model_version="m1")
        sink.start(["cam0"])
        sink.write([event("opened", "a", 3, 3.0), event("opened", "b", 3, 3.0), event("closed", "b", 5, 5.0)])
        wait_for(lambda: waiting(Path({str(outbox)!r})) == 2)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = run_forked(script, outbox.parent / "killed-worker")
    assert done.returncode == -signal.SIGKILL, done.stderr


def damage(outbox: Path, how: str) -> None:
    if how == "not_a_database":
        outbox.write_bytes(b"this is not an SQLite database\n" * 200)
    elif how == "truncated":  # states checkpointed into the file, which then loses its end
        sink = AlertSink(StoreConfig(url=down(outbox.parent)), outbox, model_version="m1")
        sink.start(["cam0"])
        sink.write([event("opened", f"e{i}", 3, 3.0) for i in range(8)])
        wait_for(lambda: sink.health().unsaved == 0)  # in the file before close's 1 s (the log is down)
        sink.close(timeout_s=1.0)
        os.truncate(outbox, outbox.stat().st_size // 2)
    elif how == "index_out_of_step":  # an index no longer matching its table: its writes fail
        sink = AlertSink(StoreConfig(url=down(outbox.parent)), outbox, model_version="m1")
        sink.start(["cam0"])
        sink.write([event("opened", f"e{i}", 3, 3.0) for i in range(8)])
        wait_for(lambda: sink.health().unsaved == 0)  # in the file before close's 1 s (the log is down)
        sink.close(timeout_s=1.0)
        db = sqlite3.connect(outbox, isolation_level=None)
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX outbox_delivered ON outbox (rev)' "
                   "WHERE name = 'outbox_delivered'")  # fmt: skip
        db.close()  # the last connection: checkpointed, the damage is in the file itself
    elif how == "emptied_under_its_wal":
        killed_worker_leaves(outbox)
        os.truncate(outbox, 0)
    elif how == "deleted_leaving_its_wal":
        killed_worker_leaves(outbox)
        outbox.unlink()


@pytest.mark.parametrize(
    "how",
    ["not_a_database", "truncated", "index_out_of_step", "emptied_under_its_wal", "deleted_leaving_its_wal"],
)
def test_a_damaged_outbox_is_set_aside_and_a_fresh_one_keeps_the_next_alerts(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = tmp_path / "outbox.db"
    damage(outbox, how)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("outbox.db")}
    sink = AlertSink(StoreConfig(url=down(outbox.parent)), outbox, model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", "c", 3, 3.0)])
    # On disk at once although the log is down: the new outbox takes it.
    wait_for(lambda: waiting(outbox) == 1)
    assert sink.health().outbox_error is None
    sink.close(timeout_s=1.0)
    aside = {p.name: p.read_bytes() for p in tmp_path.iterdir() if ".damaged-" in p.name}
    # Every byte the damaged files held is kept aside, under the same suffixes, for recovery.
    assert {re.sub(STAMP, "", name): data for name, data in aside.items()} == before
    stem = next(m.group() for name in aside if (m := re.match(rf".*{STAMP}", name)))
    said = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("damaged" in m and stem in m for m in said), said


def test_a_sound_outbox_is_never_set_aside_and_its_alerts_are_delivered(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.db"
    killed_worker_leaves(outbox)  # a killed worker's leftovers are not damage
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    sink = AlertSink(StoreConfig(url=url), outbox, model_version="m1")
    sink.start(["cam0"])
    assert [u.episode.episode_id for u in sink.unfinished()] == ["a"]
    sink.close()
    assert rows(url) == [("a", 3, False), ("b", 5, True)]
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]


def test_haad_alerts_deliver_on_a_damaged_outbox_sets_it_aside_instead_of_failing(tmp_path: Path) -> None:
    (tmp_path / "edge.yaml").write_text(
        f"streams: []\nstore: {{url: 'sqlite:///{tmp_path}/alerts.db'}}\nstate_dir: {tmp_path}\n"
    )
    damage(tmp_path / "alert-outbox.db", "not_a_database")
    done = haad("alerts", "deliver", "--config", str(tmp_path / "edge.yaml"), said=tmp_path / "deliver")
    # 3, not 0: the file set aside holds states no delivery reaches until someone recovers them.
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr[-2000:]
    [aside] = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert "is damaged" in done.stderr and done.stderr.rstrip().endswith(f"then removed: {aside}")


def test_haad_alerts_deliver_sets_aside_the_write_ahead_log_of_a_deleted_outbox(tmp_path: Path) -> None:
    """The outbox deleted by hand, its write-ahead log (alerts) left: deliver said only that there was
    nothing to deliver; it sets the log aside for recovery and says so."""
    (tmp_path / "edge.yaml").write_text(
        f"streams: []\nstore: {{url: 'sqlite:///{tmp_path}/alerts.db'}}\nstate_dir: {tmp_path}\n"
    )
    damage(tmp_path / "alert-outbox.db", "deleted_leaving_its_wal")
    done = haad("alerts", "deliver", "--config", str(tmp_path / "edge.yaml"), said=tmp_path / "deliver")
    assert done.returncode == 3 and "nothing to deliver" in done.stdout, done.stderr[-2000:]  # as above
    assert [p for p in tmp_path.iterdir() if re.search(rf"alert-outbox\.db{STAMP}-wal$", p.name)]
    aside = sorted(p for p in tmp_path.iterdir() if ".damaged-" in p.name)  # its -wal and -shm
    assert "is damaged" in done.stderr and done.stderr.rstrip().endswith(
        f"then removed: {', '.join(map(str, aside))}"
    )
    assert not (tmp_path / "alert-outbox.db-wal").exists()


def test_haad_alerts_deliver_on_an_outbox_it_cannot_open_says_so_and_leaves_it(tmp_path: Path) -> None:
    """Not damage (a locked file, a failing disk; here a folder where its write-ahead log goes): one
    line and exit 1, the outbox left as it is, not a traceback."""
    (tmp_path / "edge.yaml").write_text(
        f"streams: []\nstore: {{url: 'sqlite:///{tmp_path}/alerts.db'}}\nstate_dir: {tmp_path}\n"
    )
    AlertOutbox(tmp_path / "alert-outbox.db").close()
    (tmp_path / "alert-outbox.db-wal").mkdir()
    done = haad("alerts", "deliver", "--config", str(tmp_path / "edge.yaml"), said=tmp_path / "deliver")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "cannot open the alert outbox" in done.stderr
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
