"""Retention on an alert log whose SQLite file was deleted or replaced under housekeeping (which keeps
its store open for as long as it runs): it prunes the file now at the path, not the old one (as it
did until haad restarted, leaving the new file unpruned)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from config.store import RetentionConfig
from edge.store import AlertStore
from edge.store.retention import prune
from tests.edge.test_outbox_unreadable_rows import state


def keys(db: Path) -> set[str]:
    with AlertStore(f"sqlite:///{db}") as store:
        return {a.episode_key for a in store.list_alerts()}


def move(act: str, db: Path, backup: Path) -> None:
    if act == "replaced":  # a backup put in its place
        shutil.copyfile(backup, db.with_name("restored.db"))
        os.replace(db.with_name("restored.db"), db)
        Path(f"{db}-wal").unlink(missing_ok=True)  # the old file's -wal and -shm removed, as haad says
        Path(f"{db}-shm").unlink(missing_ok=True)
    else:  # rm alerts.db*
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)


@pytest.mark.parametrize("act", ["deleted", "replaced"])
@pytest.mark.parametrize("timing", ["early", "late", "twice"])  # before it pruned, after, and again
def test_retention_prunes_the_file_now_at_the_path(tmp_path: Path, act: str, timing: str) -> None:
    db, backup = tmp_path / "alerts.db", tmp_path / "backup.db"
    with AlertStore(f"sqlite:///{backup}") as store:
        store.write_alerts([state("b", closed=True)])
    one_row = RetentionConfig(max_rows=1, max_age_days=0, windows_days=0)
    with AlertStore(f"sqlite:///{db}") as housekeeping:
        housekeeping.write_alerts([state(f"old{i}", closed=True) for i in range(3)])
        if timing != "early":
            prune(housekeeping, one_row)
        for n in range(2 if timing == "twice" else 1):
            move(act, db, backup)
            with AlertStore(f"sqlite:///{db}") as worker:  # writes to the file at the path
                worker.write_alerts([state(f"new{n}-{i}", closed=True) for i in range(3)])
            prune(housekeeping, one_row)
            assert len(keys(db)) == 1, keys(db)
