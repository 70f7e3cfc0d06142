"""The alert outbox: the worker's alert states on local disk, in a SQLite file (WAL, synchronous=FULL).

Every state of an episode the worker produces (opened, updated, closed) is put here before any
attempt to write the alert log (a PostgreSQL server on another host, or a SQLite file another
process may hold locked). So an alert survives the log being slow, hung or down, a crash of the
worker and a shutdown during an outage: the next delivery, in this process or the next one, writes
it with its windows and its episode key, which makes a repeated delivery harmless.

One row per episode, holding its newest state and that state's revision (``rev``, increasing over
the outbox's life, so an older state never replaces a newer one). A delivered state is removed once
its episode is closed; the newest state of an episode still open stays, marked delivered, because
it is what a worker that starts after a crash resumes (edge.alerts_sink).

A damaged file (not a database, truncated, an index out of step with its table, or emptied while its
write-ahead log is left, which SQLite would then delete) is set aside under a ``.damaged-<time>`` name
for recovery (``sqlite3 FILE .recover``) by the worker that starts on it or ``haad alerts deliver``
(:func:`set_aside_if_damaged`), and a fresh outbox is started in its place: otherwise no alert could
be saved again until someone removed it by hand.
Only while the outbox lock is held and nothing has the file open: a connection still open on a moved
file deletes the write-ahead log of the same name when it closes, the new file's.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.store import AlertStore, NewAlert
from edge.store.records import ARRAY_FIELDS, decode_windows, encode_windows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_key TEXT NOT NULL UNIQUE,
    rev INTEGER NOT NULL DEFAULT 0,
    stream_id TEXT NOT NULL,
    open INTEGER NOT NULL,
    fields TEXT NOT NULL,
    arrays BLOB NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
)
"""
_TIMES = ("started_at", "ended_at")
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_SIDE_FILES = ("-wal", "-shm")
log = logging.getLogger("haad.alerts")
Receipt = tuple[str, int]  # (episode key, revision of the state delivered)


class AlertOutbox:
    """The outbox file at ``path`` (created on first use). One object per thread; several objects
    (threads, processes) may share the file."""

    def __init__(self, path: Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")  # a state in the outbox is on disk
            self._db.execute(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
            if "delivered" not in columns:  # an outbox written before states were kept after delivery
                self._db.execute("ALTER TABLE outbox ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0")
            # What waits is counted at each state put during an outage: from this index, not from
            # every row and its windows (a long outage's outbox is hundreds of MB).
            self._db.execute("CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (delivered)")
        except BaseException:
            self._db.close()
            raise

    def put(self, states: Sequence[tuple[int, NewAlert]]) -> None:
        """Store each (revision, state) unless its episode already holds a newer one; one transaction,
        on disk when this returns."""
        rows = [(a.episode_key, rev, a.stream_id, int(a.ended_at is None), _fields(a), _arrays(a))
                for rev, a in states]  # fmt: skip
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO outbox (episode_key, rev, stream_id, open, fields, arrays) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (episode_key) DO UPDATE SET rev = excluded.rev, open = excluded.open, "
                "fields = excluded.fields, arrays = excluded.arrays, delivered = 0 WHERE excluded.rev > rev",
                rows,
            )

    def undelivered(self, limit: int = 64) -> list[tuple[int, NewAlert]]:
        """The oldest ``limit`` states not yet delivered, with their revisions."""
        cur = self._db.execute(
            "SELECT rev, fields, arrays FROM outbox WHERE delivered = 0 ORDER BY id LIMIT ?", (limit,)
        )
        return [(rev, _alert(fields, arrays)) for rev, fields, arrays in cur]

    def undelivered_revs(self, limit: int = 64) -> list[Receipt]:
        """Which states :meth:`undelivered` would return, without reading them: (episode key, revision)."""
        cur = self._db.execute(
            "SELECT episode_key, rev FROM outbox WHERE delivered = 0 ORDER BY id LIMIT ?", (limit,)
        )
        return cur.fetchall()

    def states(self, keys: Sequence[str]) -> dict[str, tuple[int, NewAlert]]:
        """The newest state of each of these episodes the outbox holds, with its revision."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        cur = self._db.execute(
            f"SELECT rev, fields, arrays FROM outbox WHERE episode_key IN ({marks})", tuple(keys)
        )
        return {(a := _alert(fields, arrays)).episode_key: (rev, a) for rev, fields, arrays in cur}

    def open_alerts(self, streams: Sequence[str]) -> list[NewAlert]:
        """The newest states of ``streams``' episodes that had not ended, delivered or not."""
        marks = ",".join("?" * len(streams))
        cur = self._db.execute(
            f"SELECT fields, arrays FROM outbox WHERE open = 1 AND stream_id IN ({marks}) ORDER BY id",
            tuple(streams),
        )
        return [_alert(fields, arrays) for fields, arrays in cur]

    def delivered(self, receipts: Sequence[Receipt]) -> None:
        """These states are in the alert log: forget closed episodes, keep open ones (marked), unless
        a newer state of the episode arrived since."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "DELETE FROM outbox WHERE episode_key = ? AND rev <= ? AND open = 0", receipts
            )
            self._db.executemany(
                "UPDATE outbox SET delivered = 1 WHERE episode_key = ? AND rev <= ?", receipts
            )

    def deliver(self, store: AlertStore, batch: int = 64) -> int:
        """Write every waiting state to ``store``, oldest first, marking each batch once it is
        committed; how many were delivered. A store error propagates (what is left keeps waiting)."""
        done = 0
        while waiting := self.undelivered(batch):
            store.write_alerts([a for _, a in waiting])
            self.delivered([(a.episode_key, rev) for rev, a in waiting])
            done += len(waiting)
        return done

    def episode_keys(self) -> set[str]:
        return {k for (k,) in self._db.execute("SELECT episode_key FROM outbox")}

    def last_rev(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(rev), 0) FROM outbox").fetchone()[0])

    def waiting(self) -> int:
        """States not yet in the alert log."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE delivered = 0").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def set_aside_if_damaged(path: Path) -> None:
    """Move a damaged outbox at ``path`` and its side files aside (module docstring), saying so."""
    if not path.exists() or path.stat().st_size == 0:
        # A database is written before its side files, so they were left by a file deleted or emptied.
        if any(Path(f"{path}{s}").exists() for s in _SIDE_FILES):
            _set_aside(path, "its write-ahead log is left without the database it belongs to")
        return
    try:
        db = sqlite3.connect(path, timeout=30.0)
        try:
            # A truncated file opens and fails later, on the pages it lost: this reads every page. And an
            # index out of step with its table fails only the writes that touch it (quick_check misses it).
            problem = str(db.execute("PRAGMA integrity_check(1)").fetchone()[0])
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        # Extended codes (SQLITE_CORRUPT_INDEX, ...) name their primary code in the low byte.
        if (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF not in _DAMAGED:
            return  # locked, unreadable, ...: the writer meets it and says so
        problem = str(e)
    if problem != "ok":
        _set_aside(path, problem)


def _set_aside(path: Path, why: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # never the name of an earlier one
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", *_SIDE_FILES):
        try:
            os.rename(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
    log.error(
        "the alert outbox %s is damaged (%s): moved to %s and a new one started; alert states not yet in "
        "the alert log that were only there are lost unless recovered from it (sqlite3 %s .recover)",
        path, why, aside, aside.name,
    )  # fmt: skip


def _fields(a: NewAlert) -> str:
    d: dict[str, Any] = {k: v for k, v in a.__dict__.items() if k not in ARRAY_FIELDS}
    for k in _TIMES:
        d[k] = None if d[k] is None else d[k].isoformat()
    return json.dumps(d, sort_keys=True)


def _arrays(a: NewAlert) -> bytes:
    return encode_windows(a.windows, a.window_times, a.window_scores, a.timeline, compress=False)


def _alert(fields: str, arrays: bytes) -> NewAlert:
    d: dict[str, Any] = json.loads(fields)
    for k in _TIMES:
        d[k] = None if d[k] is None else datetime.fromisoformat(d[k])
    d.update(decode_windows(arrays))
    return NewAlert(**d)
