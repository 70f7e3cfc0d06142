"""The alert outbox: alert states not yet in the alert log, in a SQLite file on local disk.

Every alert state the worker produces is put here first, then delivered to the alert log (which may
be a PostgreSQL server on another host, or a SQLite file another process holds locked) and removed.
So an alert survives the log being unreachable, a crash of the worker and a shutdown during an
outage; the next delivery, in this process or the next one, writes it with its windows and its
episode key, which makes a delivery that is repeated harmless. One row per episode: a newer state of
an episode replaces the older one and keeps its place in the queue.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.store import AlertStore, NewAlert

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_key TEXT NOT NULL UNIQUE,
    rev INTEGER NOT NULL DEFAULT 0,
    stream_id TEXT NOT NULL,
    open INTEGER NOT NULL,
    fields TEXT NOT NULL,
    arrays BLOB NOT NULL
)
"""
_TIMES = ("started_at", "ended_at")
Receipt = tuple[int, int]  # (row id, revision of its state)
_ARRAYS = ("windows", "window_times", "window_scores")


class AlertOutbox:
    """The outbox file at ``path`` (created on first use). Use it from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")  # an alert in the outbox is on disk
        self._db.execute(_SCHEMA)

    def put(self, alerts: Sequence[NewAlert]) -> None:
        """Store the newest state of each alert's episode, in one transaction."""
        rows = [_row(a) for a in alerts]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO outbox (episode_key, stream_id, open, fields, arrays) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (episode_key) DO UPDATE SET rev = rev + 1, open = excluded.open, "
                "fields = excluded.fields, arrays = excluded.arrays",
                rows,
            )

    def pending(self, limit: int = 64) -> list[tuple[Receipt, NewAlert]]:
        """The oldest ``limit`` waiting alerts, each with the receipt that removes it once delivered."""
        cur = self._db.execute("SELECT id, rev, fields, arrays FROM outbox ORDER BY id LIMIT ?", (limit,))
        return [((row_id, rev), _alert(fields, arrays)) for row_id, rev, fields, arrays in cur]

    def open_alerts(self, streams: Sequence[str]) -> list[NewAlert]:
        """Waiting alerts of ``streams`` whose episode had not ended."""
        marks = ",".join("?" * len(streams))
        cur = self._db.execute(
            f"SELECT fields, arrays FROM outbox WHERE open = 1 AND stream_id IN ({marks}) ORDER BY id",
            tuple(streams),
        )
        return [_alert(fields, arrays) for fields, arrays in cur]

    def remove(self, receipts: Sequence[Receipt]) -> None:
        """Forget delivered alerts, unless a newer state of their episode arrived since."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE id = ? AND rev = ?", receipts)

    def deliver(self, store: AlertStore, batch: int = 64) -> int:
        """Write every waiting alert to ``store``, oldest first, removing each batch once it is
        committed; how many were delivered. A store error propagates (what is left keeps waiting)."""
        delivered = 0
        while waiting := self.pending(batch):
            store.write_alerts([a for _, a in waiting])
            self.remove([receipt for receipt, _ in waiting])
            delivered += len(waiting)
        return delivered

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def _fields(a: NewAlert) -> str:
    d: dict[str, Any] = {k: v for k, v in a.__dict__.items() if k not in _ARRAYS}
    for k in _TIMES:
        d[k] = None if d[k] is None else d[k].isoformat()
    return json.dumps(d, sort_keys=True)


def _row(a: NewAlert) -> tuple[str, str, int, str, bytes]:
    buf = io.BytesIO()
    arrays = {k: getattr(a, k) for k in _ARRAYS if getattr(a, k) is not None}
    np.savez(buf, **arrays)
    return a.episode_key, a.stream_id, int(a.ended_at is None), _fields(a), buf.getvalue()


def _alert(fields: str, arrays: bytes) -> NewAlert:
    d = json.loads(fields)
    for k in _TIMES:
        d[k] = None if d[k] is None else datetime.fromisoformat(d[k])
    with np.load(io.BytesIO(arrays), allow_pickle=False) as z:
        d.update({k: z[k] for k in _ARRAYS if k in z.files})
    return NewAlert(**d)
