"""A SQLite alert log deleted or replaced under a running worker: the states written after it go to
the file at the log's path, never into the old file nobody reads any more (where they went, counted
as delivered, before). The old file's ``-wal`` and ``-shm`` left beside the path hold them back
until removed: a connection at the path would share them with any still open on the old file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from config.store import StoreConfig
from edge import alerts_sink
from edge.alerts_sink import AlertSink
from edge.episodes import EpisodeEvent
from edge.store import AlertStore
from tests.edge.test_alerts_sink import event, rows, wait_for
from tests.edge.test_outbox_unreadable_rows import state

COMPANIONS = ("-wal", "-shm")


def at_path(db: Path) -> list[tuple[str, int, bool]] | None:
    """The rows of the file at ``db`` (None while there is none: reading would make one)."""
    return rows(f"sqlite:///{db}") if db.exists() else None


def remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def companions(db: Path) -> list[Path]:
    return [Path(f"{db}{suffix}") for suffix in COMPANIONS]


# Each round's states; the log is deleted or replaced once the previous round's are in it.
ROUNDS: list[list[EpisodeEvent]] = [
    [event("opened", "a", 3, 3.0)],
    [event("closed", "a", 7, 5.0), event("opened", "b", 2, 9.0)],
    [event("closed", "b", 4, 10.0), event("opened", "c", 2, 14.0)],
]
# The rows each round's states leave (the rounds before went with the file they were in).
LEFT = [
    {("a", 3, False)},
    {("a", 7, True), ("b", 2, False)},
    {("b", 4, True), ("c", 2, False)},
]


WHOLE = "deleted with its -wal and -shm"  # rm alerts.db*: nothing of the old file left at the path


def move(act: str, db: Path, backup: Path) -> set[tuple[str, int, bool]]:
    """Delete or replace the log at ``db`` as ``act`` says; the rows the file now there holds."""
    if act == "replaced":
        shutil.copyfile(backup, db.with_name("restored.db"))
        os.replace(db.with_name("restored.db"), db)
        return {("old", 2, True)}
    remove(db, *(() if act == "deleted alone" else companions(db)))
    return set()


def log_backup_and_sink(tmp_path: Path) -> tuple[Path, Path, AlertSink]:
    """The alert log's path, a backup of an older log (one closed alert of cam1) to put in its place,
    and a started worker's alert sink writing cam0's alerts to the log."""
    db = tmp_path / "alerts.db"
    backup = tmp_path / "backup.db"
    with AlertStore(f"sqlite:///{backup}") as store:
        store.write_alerts([state("old", closed=True, stream="cam1")])
    sink = AlertSink(StoreConfig(url=f"sqlite:///{db}", deliver_every_s=0.0), tmp_path / "outbox.db",
                     model_version="m1")  # fmt: skip
    sink.start(["cam0"])
    return db, backup, sink


@pytest.mark.parametrize(
    "act,times",
    [
        (WHOLE, 1),  # with an alert open: its close and the next alert
        (WHOLE, 2),  # ... and again after the close
        ("deleted while a write waits for its lock", 1),  # that write lands in the old file
        ("deleted alone", 1),  # its -wal and -shm left beside the path
        ("replaced", 1),  # a backup moved over it
    ],
)
def test_an_alert_log_deleted_or_replaced_under_the_worker_gets_every_later_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, act: str, times: int
) -> None:
    monkeypatch.setattr(alerts_sink, "RETRY_S", (0.05, 0.2))  # the held-back rounds tried again soon
    db, backup, sink = log_backup_and_sink(tmp_path)
    kept: set[tuple[str, int, bool]] = set()  # rows the file now at the path held before the round
    try:
        for round_, states in enumerate(ROUNDS[: times + 1]):
            if round_ and act.startswith("deleted while"):
                holder = sqlite3.connect(db, isolation_level=None)
                holder.execute("BEGIN IMMEDIATE")
                sink.write(states)
                time.sleep(0.3)  # the sink's write transaction waits for the lock meanwhile
                kept = move(WHOLE, db, backup)
                holder.execute("COMMIT")
                holder.close()
            else:
                kept = move(act, db, backup) if round_ else kept
                sink.write(states)
            if round_ and act in ("deleted alone", "replaced"):
                # The old file's -wal and -shm beside the path: nothing opens the path meanwhile.
                wait_for(lambda: "restart haad" in (sink.health().log_error or ""), timeout_s=15)
                assert act == "replaced" or not db.exists()
                remove(*companions(db))
            wait_for(lambda: set(at_path(db) or ()) == kept | LEFT[round_], timeout_s=15)  # noqa: B023
    finally:
        sink.close()
    assert sink.health().log_error is None


def test_a_restored_log_another_process_opened_first_is_written_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup put in the log's place, the old file's -wal and -shm removed (as haad says), then the
    review server or the notifier opening it before the worker's next write: the -wal and -shm beside
    the path are now the restored file's, and the worker writes there (it took them for the old
    file's and waited for a restart)."""
    monkeypatch.setattr(alerts_sink, "RETRY_S", (0.05, 0.2))
    db, backup, sink = log_backup_and_sink(tmp_path)
    try:
        sink.write(ROUNDS[0])
        wait_for(lambda: set(at_path(db) or ()) == LEFT[0], timeout_s=15)
        kept = move("replaced", db, backup)
        remove(*companions(db))
        with AlertStore(f"sqlite:///{db}") as reader:  # holds the restored file's -wal and -shm
            reader.list_alerts()
            sink.write(ROUNDS[1])
            wait_for(lambda: set(at_path(db) or ()) == kept | LEFT[1], timeout_s=15)
    finally:
        sink.close()
    assert sink.health().log_error is None
