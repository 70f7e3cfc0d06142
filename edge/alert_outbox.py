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

A file deleted, renamed, replaced or cut short while this process has it open (a cleanup, log
rotation), or its -wal or -shm deleted, would take the states it held with it when the process exits:
at each call, an outbox compares the files at its path with those it has open, and where they differ
carries the states over to the path (:func:`_carry_over`), with one error naming it. The states go
through a side file (``.carried-<time>``): one a crash left midway is taken in by the next start
(:func:`recover_at_start`), which also names the files set aside earlier that wait for recovery.

A row SQLite reads but haad cannot (a column of the wrong type, fields that are not the JSON of a
state, windows that do not decode: written by hand, by another program or another haad version) is
moved, as it was, into a file of its own (``.unreadable-<time>``, :meth:`AlertOutbox.set_aside_rows`)
and named in the log: every other state is resumed and delivered, and none waits behind it forever.
So is a state the alert log refuses (:func:`write_refusals`). An outbox whose table this haad
cannot write (a column missing, one it cannot fill, a view) is moved aside whole under that name,
and the states it can read there taken into a new one.
The files waiting for recovery are listed by :func:`awaiting_recovery` (the daemon's ``/health``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, OperationalError

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
_JOURNALS = (*_SIDE_FILES, "-journal")  # the side files of a file set aside or carried
log = logging.getLogger("haad.alerts")
Sides = tuple[tuple[int, int] | None, tuple[int, int] | None]  # (device, inode) of -wal, -shm
Receipt = tuple[str, int]  # (episode key, revision of the state delivered)
State = tuple[int, NewAlert]  # (revision, the episode's row as it stands)
# The log answered and refused what it was given (a text it cannot hold, a value out of its range):
# the same state is refused again, however long it is retried.
_REFUSED = (DataError, IntegrityError)
_CANCELED = "57014"  # PostgreSQL's query_canceled: its statement_timeout (store.timeout_s) cut the call
# Rows whose columns do not hold what the schema says (the outbox's own writes always do).
_WRONG_TYPE = "cannot be read (a column of the wrong type)"  # why such rows are set aside
_MISTYPED = (
    "typeof(episode_key) != 'text' OR typeof(rev) != 'integer' OR typeof(stream_id) != 'text' "
    "OR typeof(open) != 'integer' OR open NOT IN (0, 1) OR typeof(delivered) != 'integer' "
    "OR delivered NOT IN (0, 1) OR typeof(fields) != 'text' OR typeof(arrays) != 'blob'"
)
# Files beside an outbox that hold states it lacks (:func:`_stamped`): set aside for recovery by hand,
# or left by a carry-over a crash stopped midway (taken in at the next start).
_AWAITING = ("damaged", "unreadable", "carried")
_STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")  # the time in such a name (:func:`_stamped`)
# An episode's state replaces the one stored only where newer (a put: not delivered, the column's default).
_NEWER_WINS = (
    "ON CONFLICT (episode_key) DO UPDATE SET rev = excluded.rev, open = excluded.open, "
    "fields = excluded.fields, arrays = excluded.arrays, delivered = excluded.delivered WHERE excluded.rev > rev"
)


class AlertOutbox:
    """The outbox file at ``path`` (created on first use). One object per thread; several objects
    (threads, processes) may share the file.

    The file deleted, moved or replaced while open (module docstring) is noticed at the next call
    of any object on it in this process: what it held is carried over to a new file at ``path``."""

    def __init__(self, path: Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._key = os.path.abspath(self.path)
        self._use = threading.Lock()  # held for each call on the connection, so a carry-over waits
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file the connection has open
        self._sides: Sides = (None, None)  # and of its -wal and -shm, which it keeps open too
        with _MOVES:
            # A new connection must not meet the side files of a moved one still open (docstring).
            _carry_over(self._key)
            self._open()
            _OPEN.add(self)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # a state in the outbox is on disk
            _prepare(db, "main")
            file, _ = _at_path(self._key)
            if file is None:
                raise FileNotFoundError(f"{self.path} vanished as it was opened")
        except BaseException:
            db.close()
            raise
        self._db, self._file, self._sides = db, file, _sides_at(self._key)

    def _stale(self, now: tuple[int, int] | None, cut: bool, sides: Sides) -> bool:
        """Whether the file at the path (``now``, ``cut``, its ``sides``) is no longer the one open here:
        another, cut short, or its -wal or -shm deleted or replaced."""
        if self._file is None:
            return False
        return (
            self._file != now
            or cut
            or any(a is not None and a != b for a, b in zip(self._sides, sides, strict=True))
        )

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        """The connection, on the file now at the path (a carry-over first where it is another)."""
        while True:
            if self._db is None or self._stale(*_at_path(self._key), _sides_at(self._key)):
                with _MOVES:
                    _carry_over(self._key)
                    if self._db is None:
                        self._open()
            with self._use:
                if self._db is not None:  # else carried over meanwhile by another thread
                    yield self._db
                    return

    def put(self, states: Sequence[tuple[int, NewAlert]]) -> None:
        """Store each (revision, state) unless its episode already holds a newer one; one transaction,
        on disk when this returns."""
        rows = [(a.episode_key, rev, a.stream_id, int(a.ended_at is None), _fields(a), _arrays(a))
                for rev, a in states]  # fmt: skip
        with self._conn() as db, db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO outbox (episode_key, rev, stream_id, open, fields, arrays) VALUES (?, ?, ?, ?, ?, ?) "
                + _NEWER_WINS,
                rows,
            )

    def undelivered(self, limit: int = 64) -> list[tuple[int, NewAlert]]:
        """The oldest ``limit`` states not yet delivered, with their revisions (rows that cannot be
        read are set aside, and those behind them read instead)."""
        while True:
            found = self._rows(
                "SELECT id, rev, fields, arrays FROM outbox WHERE delivered = 0 ORDER BY id LIMIT ?", (limit,)
            )
            states = self._readable(found)
            if len(states) == len(found):
                return [(rev, a) for _, rev, a in states]

    def undelivered_revs(self, limit: int = 64) -> list[Receipt]:
        """Which states :meth:`undelivered` would return, without reading them: (episode key, revision)."""
        while True:
            found = self._rows(
                "SELECT id, episode_key, rev FROM outbox WHERE delivered = 0 ORDER BY id LIMIT ?", (limit,)
            )
            # Put by another program since the start looked at every row (recover_at_start).
            bad = [
                (row_id, rev) for row_id, key, rev in found if type(key) is not str or type(rev) is not int
            ]
            if not bad:
                return [(key, rev) for _, key, rev in found]
            self.set_aside_rows(*_with_rev("id", bad), _WRONG_TYPE)

    def states(self, keys: Sequence[str]) -> dict[str, tuple[int, NewAlert]]:
        """The newest state of each of these episodes the outbox holds, with its revision."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        found = self._rows(
            f"SELECT id, rev, fields, arrays FROM outbox WHERE episode_key IN ({marks})", tuple(keys)
        )
        return {a.episode_key: (rev, a) for _, rev, a in self._readable(found)}

    def open_alerts(self, streams: Sequence[str]) -> list[NewAlert]:
        """The newest states of ``streams``' episodes that had not ended, delivered or not."""
        marks = ",".join("?" * len(streams))
        found = self._rows(
            f"SELECT id, rev, fields, arrays FROM outbox WHERE open = 1 AND stream_id IN ({marks}) ORDER BY id",
            tuple(streams),
        )
        return [a for _, _, a in self._readable(found)]

    def _readable(self, rows: Sequence[tuple[int, int, str, bytes]]) -> list[tuple[int, int, NewAlert]]:
        """(id, revision, state) of each of these (id, rev, fields, arrays) rows that can be read;
        the others are set aside."""
        states, bad = [], []
        for row_id, rev, fields, arrays in rows:
            try:
                states.append((row_id, rev, _alert(fields, arrays)))
            except Exception as e:  # noqa: BLE001 - whatever the bytes make the decoders raise
                bad.append((row_id, rev, f"{type(e).__name__}: {e}"))
        if bad:
            ids = [(row_id, rev) for row_id, rev, _ in bad]
            self.set_aside_rows(*_with_rev("id", ids), f"cannot be read ({bad[0][2]})")
        return states

    def set_aside_rows(self, where: str, params: Sequence[Any], why: str) -> None:
        """Move the rows ``where`` selects, as they are, into a new file beside the outbox
        (``.unreadable-<time>``, module docstring), saying so (``why``: what the states ...). The outbox stays locked for writing meanwhile, and the rows are on disk there before
        they are removed here: a crash between leaves them in both, never in neither."""
        side = _stamped(self.path, "unreadable")
        with self._conn() as db, db:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(f"SELECT * FROM outbox WHERE {where}", params)
            found = cursor.fetchall()
            if not found:
                return
            columns = [c[0] for c in cursor.description]
            _write_aside(side, columns, found)
            db.execute(f"DELETE FROM outbox WHERE {where}", params)
        keys = [repr(row[columns.index("episode_key")]) for row in found]
        log.error(
            "%d alert state(s) in the alert outbox %s %s; moved as they were to %s for recovery by hand "
            "(sqlite3 %s 'SELECT * FROM outbox'), every other state goes on; episode key(s): %s",
            len(found), self.path, why, side, side.name, ", ".join(keys[:10]) + (" ..." if len(keys) > 10 else ""),
        )  # fmt: skip

    def delivered(self, receipts: Sequence[Receipt]) -> None:
        """These states are in the alert log: forget closed episodes, keep open ones (marked), unless
        a newer state of the episode arrived since."""
        with self._conn() as db, db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM outbox WHERE episode_key = ? AND rev <= ? AND open = 0", receipts)
            db.executemany("UPDATE outbox SET delivered = 1 WHERE episode_key = ? AND rev <= ?", receipts)

    def deliver(self, store: AlertStore, batch: int = 64) -> int:
        """Write every waiting state to ``store``, oldest first, marking each batch once it is
        committed; how many were delivered. States the log refuses are set aside; any other store
        error propagates (what is left keeps waiting). A transaction the server's statement timeout
        cut (a slow link that cannot carry ``batch`` states within ``store.timeout_s``) halves the
        next, down to one state, and each that works adds one, up to ``batch``."""
        done, size = 0, batch
        while waiting := self.undelivered(size):
            try:
                written, refused = write_refusals(store.write_alerts, waiting)
            except OperationalError as e:
                if len(waiting) == 1 or getattr(e.orig, "sqlstate", None) != _CANCELED:
                    raise
                size = max(1, len(waiting) // 2)
                continue
            size = min(batch, size + 1)
            self.set_aside_refused(refused)
            self.delivered(written)
            done += len(written)
        return done

    def set_aside_refused(self, refused: Sequence[tuple[State, str]]) -> None:
        """Set aside these states, which the alert log refuses (:func:`write_refusals`), so that none
        waits behind them."""
        if refused:
            self.set_aside_rows(
                *_with_rev("episode_key", [(a.episode_key, rev) for (rev, a), _ in refused]),
                f"are refused by the alert log ({'; '.join(w for _, w in refused)})",
            )

    def episode_keys(self) -> set[str]:
        return {k for (k,) in self._rows("SELECT episode_key FROM outbox")}

    def last_rev(self) -> int:
        return int(self._rows("SELECT COALESCE(MAX(rev), 0) FROM outbox")[0][0])

    def waiting(self) -> int:
        """States not yet in the alert log."""
        return int(self._rows("SELECT COUNT(*) FROM outbox WHERE delivered = 0")[0][0])

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._conn() as db:
            return db.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection; one on a file deleted or moved meanwhile is carried over first, and
        kept open (its states alive in this process) while that fails."""
        with _MOVES:
            try:
                _carry_over(self._key)
            except (sqlite3.Error, OSError) as e:
                if self._db is not None:
                    _STRANDED.add(self)
                    log.error("cannot carry the alert outbox over to %s (%s); retried at its next use",
                              self.path, e)  # fmt: skip
                    return
            with self._use:
                if self._db is not None:
                    self._db.close()
                    self._db = None
            _OPEN.discard(self)


_MOVES = threading.Lock()  # one carry-over at a time in this process, and no connection opened meanwhile
_OPEN: weakref.WeakSet[AlertOutbox] = weakref.WeakSet()  # this process's outbox objects
_STRANDED: set[AlertOutbox] = set()  # closed on files gone whose carry-over failed: kept open until it works
_HIGH: dict[tuple[int, int], int] = {}  # the largest size seen of each outbox file
_LOST: dict[str, int] = {}  # outbox path -> files set aside while open here (see sets_aside)
_COLUMNS = "episode_key, rev, stream_id, open, fields, arrays, delivered"


def sets_aside(path: Path) -> int:
    """How many times this process set aside the outbox at ``path`` while it had it open (it was cut
    and could not be read whole): the states it held that a writer still has must be put again."""
    return _LOST.get(os.path.abspath(path), 0)


def _with_rev(column: str, rows: Sequence[tuple[Any, Any]]) -> tuple[str, list[Any]]:
    """The WHERE clause and parameters selecting these (``column``, revision) rows (``column``: id or
    episode_key) for :meth:`AlertOutbox.set_aside_rows`. By revision too: a row a newer state replaced
    meanwhile (same id, same key) is not this one; ``IS``: a revision of the wrong type may be NULL."""
    return " OR ".join([f"({column} = ? AND rev IS ?)"] * len(rows)), [v for row in rows for v in row]


def write_refusals(
    write: Callable[[list[NewAlert]], Any], states: Sequence[State]
) -> tuple[list[Receipt], list[tuple[State, str]]]:
    """Write ``states`` with ``write`` (one transaction); where the log refuses them, each alone: the
    (episode key, revision) of those written, for the outbox's receipts and the writer's record, and
    the states it refused, with why. Any other error propagates."""
    try:
        write([a for _, a in states])
        return [(a.episode_key, rev) for rev, a in states], []
    except _REFUSED as e:
        if len(states) == 1:
            return [], [(states[0], first_line(e))]
    written, refused = [], []
    for rev, a in states:
        try:
            write([a])
            written.append((a.episode_key, rev))
        except _REFUSED as e:
            refused.append(((rev, a), first_line(e)))
    return written, refused


def first_line(e: Exception) -> str:
    """``e`` in one line, its type first."""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _carry_over(key: str) -> None:
    """Carry what outboxes of this process hold in a file no longer at ``key`` over to the file there.

    Every connection on the old file is closed before anything opens the path: the last one to close
    deletes ``<path>-wal`` and ``-shm`` by name, and a connection opened at the path meanwhile would
    share the old file's ``-shm`` and delete its write-ahead log (its database is empty). So the states
    go first to a side file through the old connection, and that is linked into place once no
    connection is left on the old file; while this fails, the old file stays open (the states alive)."""
    now, cut = _at_path(key)
    sides = _sides_at(key)
    stale: dict[tuple[int, int], list[AlertOutbox]] = {}
    for o in list(_OPEN):
        if o._key == key and o._db is not None and o._file is not None and o._stale(now, cut, sides):
            stale.setdefault(o._file, []).append(o)
    path = Path(key)
    for file, group in stale.items():
        for o in group:
            o._use.acquire()  # their calls under way end first
        try:
            source = group[0]._db
            assert source is not None
            side = _stamped(path, "carried")
            carried: Path | None = side
            try:
                held, waiting = _copy(source, side)
            except sqlite3.DatabaseError as e:
                if not (cut and file == now and _damaged(e)):
                    raise
                carried = None  # what it held is in the file set aside below, for recovery by hand
            for o in group:
                assert o._db is not None
                o._db.close()
                o._db, o._file, o._sides = None, None, (None, None)
                _STRANDED.discard(o)
        finally:
            for o in group:
                o._use.release()
        _HIGH.pop(file, None)  # its inode number may be given to a new file once closed
        if cut and file == now:  # the cut file is still at the path
            if carried is None:
                _set_aside(path, "it was emptied or cut short while in use")
                _LOST[key] = _LOST.get(key, 0) + 1
            else:  # all it held is carried
                for suffix in ("", *_SIDE_FILES):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        if carried is not None:
            _adopt(carried, path)
            log.error(
                "the alert outbox %s (or its -wal or -shm) was deleted, replaced or cut short while in use; its %d alert state(s) "
                "(%d not yet in the alert log) are carried over to the file now at that path", path, held, waiting,
            )  # fmt: skip


def _copy(source: sqlite3.Connection, carried: Path) -> tuple[int, int]:
    """Copy the outbox ``source`` has open into a new file ``carried``, on disk when this returns;
    (states, states not yet delivered)."""
    carried.parent.mkdir(parents=True, exist_ok=True)  # the folder was removed with the file
    try:
        source.execute("ATTACH DATABASE ? AS carried", (str(carried),))
        try:
            source.execute("PRAGMA carried.journal_mode = DELETE")  # one file: linked into place alone
            source.execute("PRAGMA carried.synchronous = FULL")
            _prepare(source, "carried")
            with source:
                source.execute("BEGIN IMMEDIATE")
                source.execute(f"INSERT INTO carried.outbox (id, {_COLUMNS}) "
                               f"SELECT id, {_COLUMNS} FROM main.outbox")  # fmt: skip
            held, waiting = source.execute(
                "SELECT COUNT(*), COALESCE(SUM(delivered = 0), 0) FROM carried.outbox"
            ).fetchone()
        finally:
            source.execute("DETACH DATABASE carried")
    except BaseException:
        for suffix in ("", "-journal"):
            Path(f"{carried}{suffix}").unlink(missing_ok=True)
        raise
    return int(held), int(waiting)


def _adopt(carried: Path, path: Path) -> None:
    """Put the side file ``carried`` at ``path``; into the file there if one was put in its place (a
    state only where newer: taken in again, it at most delivers a state again, which the alert log,
    written by episode key, takes as the same row)."""
    try:
        os.link(carried, path)  # never over a file
    except FileExistsError:
        # The same file: linked by a carry-over killed before it removed this name, all that was left.
        if not os.path.samefile(carried, path):
            _merge(carried, path)
    carried.unlink()
    _sync_folder(path)  # the link and the unlink are on disk


def _write_aside(side: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A new file ``side`` holding ``rows`` in a table ``outbox`` of these ``columns``, each value as
    it was (no declared types: nothing converted, no constraint refused), on disk when this returns.
    Written under another name and renamed: whoever lists the files set aside (a start, /health)
    never meets it half-written, and a crash meanwhile leaves no file that says it holds them."""
    partial = Path(f"{side}.partial")
    try:
        db = sqlite3.connect(partial, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous = FULL")
            names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute(f"CREATE TABLE outbox ({names})")
                db.executemany(f"INSERT INTO outbox VALUES ({','.join('?' * len(columns))})", rows)
        finally:
            db.close()
        os.rename(partial, side)
        _sync_folder(side)
    except BaseException:  # the rows stay in the outbox
        for name in (partial, Path(f"{partial}-journal"), side):
            name.unlink(missing_ok=True)
        raise


def _sync_folder(path: Path) -> None:
    """The names in ``path``'s folder (a file made, linked or removed there) are on disk."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _merge(carried: Path, path: Path) -> None:
    """Take each state of ``carried`` into the outbox at ``path`` where it is newer than that there."""
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        _prepare(db, "main")
        db.execute("ATTACH DATABASE ? AS carried", (str(carried),))
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                f"INSERT INTO outbox ({_COLUMNS}) SELECT {_COLUMNS} FROM carried.outbox WHERE 1 ORDER BY id "
                + _NEWER_WINS
            )
        db.execute("DETACH DATABASE carried")
    finally:
        db.close()


def _prepare(db: sqlite3.Connection, schema: str) -> None:
    """The outbox table and its index in ``schema`` of ``db``, and an older file's missing column."""
    db.execute(_SCHEMA.replace("EXISTS outbox", f"EXISTS {schema}.outbox"))
    columns = {row[1] for row in db.execute(f"PRAGMA {schema}.table_info(outbox)")}
    if "delivered" not in columns:  # an outbox written before states were kept after delivery
        db.execute(f"ALTER TABLE {schema}.outbox ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0")
    # What waits is counted at each state put during an outage: from this index, not from
    # every row and its windows (a long outage's outbox is hundreds of MB).
    db.execute(f"CREATE INDEX IF NOT EXISTS {schema}.outbox_delivered ON outbox (delivered)")


def _at_path(path: str) -> tuple[tuple[int, int] | None, bool]:
    """(device, inode) of the file at ``path`` (None when there is none), and whether it is shorter
    than it was seen here: an outbox never shrinks (never vacuumed), so it was cut by someone."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, False
    file = (st.st_dev, st.st_ino)
    if st.st_size < _HIGH.get(file, 0):
        return file, True
    _HIGH[file] = st.st_size
    return file, False


def _sides_at(path: str) -> Sides:
    """(device, inode) of the -wal and -shm files at ``path``, None for each not there."""
    found: list[tuple[int, int] | None] = []
    for suffix in _SIDE_FILES:
        try:
            st = os.stat(f"{path}{suffix}")
        except FileNotFoundError:
            found.append(None)
        else:
            found.append((st.st_dev, st.st_ino))
    return found[0], found[1]


def _damaged(e: sqlite3.DatabaseError) -> bool:
    # Extended codes (SQLITE_CORRUPT_INDEX, ...) name their primary code in the low byte.
    return (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF in _DAMAGED


def recover_at_start(path: Path, *, name_earlier: bool = True) -> None:
    """What a start does first, with the outbox lock held and nothing open on ``path``: set a damaged
    outbox aside, take in the side files of carry-overs a crash stopped midway, set aside the rows
    whose columns hold what no state has, and name the files set aside at earlier starts, which wait
    for recovery by hand (``name_earlier``; ``haad alerts deliver`` names them all once, at its end)."""
    earlier = [p for p in awaiting_recovery(path) if ".carried-" not in p.name]  # one now names itself
    # First: a write-ahead log left at the path without its file is the old file's, and SQLite would
    # apply it to a side file linked there.
    set_aside_if_damaged(path)
    _set_aside_if_foreign(path)  # before a carry-over's side file is merged into it
    with _MOVES:
        for side in _named(path, "carried"):
            if not side.name.endswith(_JOURNALS):
                _take_in(side, path)
    if path.is_file():
        outbox = AlertOutbox(path)
        try:
            outbox.set_aside_rows(_MISTYPED, (), _WRONG_TYPE)
        finally:
            outbox.close()
    if earlier and name_earlier:
        log.warning("%s", recovery_advice(path, earlier))


def recovery_advice(path: Path, files: Sequence[Path]) -> str:
    """What ``files`` (:func:`awaiting_recovery`) hold and how each is recovered: one text for a start's
    log and ``haad alerts deliver``."""
    return (
        f"{len(files)} file(s) beside the alert outbox {path} hold alert states not delivered unless recovered "
        "by hand (a damaged one: sqlite3 FILE .recover; an unreadable one: sqlite3 FILE 'SELECT * FROM outbox'; "
        "a carried one is taken in by the next start), then removed: " + ", ".join(map(str, files))
    )


def _take_in(side: Path, path: Path) -> None:
    """The side file of a carry-over stopped midway put at (or merged into) ``path``, as it would
    have been."""
    try:
        if not (path.exists() and os.path.samefile(side, path)):  # linked already: not opened by this name
            db = sqlite3.connect(side, timeout=30.0, isolation_level=None)
            try:
                # Stopped while copying: its journal rolls the copy back (the states are not all there;
                # they were in the old file); stopped before it had a table, one is made, empty.
                _prepare(db, "main")
            finally:
                db.close()
        _adopt(side, path)
    except (sqlite3.Error, OSError) as e:
        log.error("cannot take in the alert states %s holds (%s); it stays for the next start", side, e)
        return
    log.warning("alert states left in %s by a carry-over stopped midway are in %s", side.name, path)


def awaiting_recovery(path: Path) -> list[Path]:
    """The files beside the outbox at ``path`` that hold alert states it lacks (set aside as damaged or
    unreadable, or carried by a carry-over a crash stopped), oldest first: a journal is named where
    its database is not (the write-ahead log of a file emptied under it is set aside alone)."""
    found = [p for what in _AWAITING for p in _named(path, what)]
    names = {p.name for p in found}
    alone = [p for p in found if not p.name.endswith(_JOURNALS) or p.name.rsplit("-", 1)[0] not in names]
    return sorted(alone, key=lambda p: (_STAMP.findall(p.name)[-1], p.name))


def _named(path: Path, what: str) -> list[Path]:
    """The files named after ``path`` for ``what`` (:func:`_stamped`) and their side files, oldest first."""
    name = re.compile(rf"{re.escape(path.name)}\.{what}-{_STAMP.pattern}({'|'.join(_JOURNALS)})?")
    return sorted(p for p in path.parent.iterdir() if name.fullmatch(p.name)) if path.parent.is_dir() else []


def _stamped(path: Path, what: str) -> Path:
    """A new name beside ``path`` for a file carried or set aside (``what``); the time makes it never
    the name of an earlier one."""
    return path.with_name(f"{path.name}.{what}-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}")


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
        if not _damaged(e):
            return  # locked, unreadable, ...: the writer meets it and says so
        problem = str(e)
    if problem != "ok":
        _set_aside(path, problem)


def _set_aside(path: Path, why: str) -> None:
    aside = _moved_aside(path, "damaged")
    log.error(
        "the alert outbox %s is damaged (%s): moved to %s and a new one started; alert states not yet in "
        "the alert log that were only there are lost unless recovered from it (sqlite3 %s .recover)",
        path, why, aside, aside.name,
    )  # fmt: skip


def _moved_aside(path: Path, what: str) -> Path:
    """Move the file at ``path`` and its side files to a new name for ``what`` (:func:`_stamped`)."""
    aside = _stamped(path, what)
    for suffix in ("", *_SIDE_FILES):
        try:
            os.rename(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
    return aside


def _set_aside_if_foreign(path: Path) -> None:
    """Move aside an outbox whose ``outbox`` is not a table this haad can write (columns missing, one
    it cannot fill, a view: made by another program or another haad version), and take into a new
    one the states it can read there: else no alert could be saved until someone removed it by hand."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    db = sqlite3.connect(path, timeout=30.0)
    try:
        kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'outbox'").fetchone()
        columns = list(db.execute("PRAGMA table_info(outbox)"))
    finally:
        db.close()
    if kind is None:
        return  # a new file: the table is made
    ours = {"id", *_COLUMNS.split(", ")}
    # A file older than ``delivered`` gets it (_prepare). (cid, name, type, notnull, default, pk): a
    # column not ours, NOT NULL without a default, refuses every row we put.
    problems = [f"column {name} missing" for name in sorted(ours - {c[1] for c in columns} - {"delivered"})]
    problems += [
        f"column {c[1]} it cannot fill" for c in columns if c[1] not in ours and c[3] and c[4] is None
    ]
    if kind[0] != "table":
        problems = [f"outbox is a {kind[0]}"]
    if not problems:
        return
    why = ", ".join(problems)
    aside = _moved_aside(path, "unreadable")
    try:
        _merge(aside, path)
        taken = "the alert states this haad can read there are taken in"
    except sqlite3.Error as e:
        taken = f"none of its alert states can be taken in ({e})"
    log.error(
        "the alert outbox %s is not one this haad can write (%s): moved to %s and a new one started; %s; "
        "it stays for recovery by hand (sqlite3 %s 'SELECT * FROM outbox') or by the haad that wrote it",
        path, why, aside, taken, aside.name,
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
