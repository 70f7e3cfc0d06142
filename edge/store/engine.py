"""Engines for the alert log, the schema upgrade that runs whenever one is opened, and the deadline
that cuts a database call that hangs.

SQLite: WAL (readers never block the writer), ``synchronous=NORMAL`` (durable at checkpoints, never
corrupt), a busy timeout and foreign keys, set on every new connection. sqlite3's own transaction
handling is switched off so that SQLAlchemy emits BEGIN itself: plain BEGIN for reads and BEGIN
IMMEDIATE for writes (:data:`WRITE`). A deferred write transaction that read first cannot wait for
the lock in WAL mode (SQLITE_BUSY at once); an immediate one queues for it behind the busy timeout.

A SQLite file deleted or replaced under a running haad (``rm alerts.db``, a backup moved over it):
every engine notices at its next checkout that the file at the path is not the one its connection
opened, drops that connection and opens the path afresh (:func:`make_engine`), so the review
server, retention and the notifier follow the worker to the new file. The old file's ``-wal`` and
``-shm``, while still beside the path, hold every new connection at the path back (:class:`LogMoved`):
it would share them by name with any connection still open on the old file and corrupt the new log.

PostgreSQL: a connect timeout, TCP keepalives and a server-side ``statement_timeout``. None of them
ends a call to a server that accepted the connection and then stopped answering behind a frozen
proxy or NAT box (its kernel still acknowledges every packet): :class:`CallDeadlines` does, by
shutting down the sockets of the connections the late thread holds.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from config.store import StoreConfig

MIGRATIONS = Path(__file__).parent / "migrations"
_FILE = "haad_file"  # a SQLite connection's pool record info: the files it opened (_Opened)
WRITE = {"haad_write": True}  # execution options of a write transaction (BEGIN IMMEDIATE on SQLite)
# Serialises schema upgrades of processes sharing one PostgreSQL database (an arbitrary constant).
_PG_MIGRATION_LOCK = 0x6861_6164  # "haad"
# Alembic's ``context``/``op`` are process-wide proxies: two threads migrating at once would run each
# other's env.py on the wrong connection, so upgrades within one process take turns.
_UPGRADE_IN_PROCESS = threading.Lock()


def make_engine(cfg: StoreConfig, *, echo: bool = False) -> Engine:
    url = make_url(cfg.url)
    if cfg.password is not None:
        url = url.set(password=cfg.password.value())
    if url.get_backend_name() != "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            pool_size=cfg.pool_size,
            max_overflow=cfg.max_overflow,
            pool_timeout=cfg.pool_timeout_s,
            pool_pre_ping=True,  # a server restart must not fail the next alert write
            connect_args={
                "connect_timeout": max(1, round(cfg.busy_timeout_s)),
                "keepalives": 1,  # a server host that vanished is noticed within a minute
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            },
        )
        statement_ms = round(cfg.timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
            _hold(dbapi_connection)
            with dbapi_connection.cursor() as cur:
                cur.execute(f"SET statement_timeout = {statement_ms}")
            dbapi_connection.commit()

        _track(engine)
        return engine
    assert url.database is not None  # config.store refuses in-memory SQLite
    path = Path(url.database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        pool_size=cfg.pool_size,
        max_overflow=cfg.max_overflow,
        pool_timeout=cfg.pool_timeout_s,
        connect_args={"timeout": cfg.busy_timeout_s},
    )
    busy_ms = round(cfg.busy_timeout_s * 1000)

    connected = False  # once it has, this engine never makes the file: see _before_connect

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        # A file deleted under this engine is made afresh by a new AlertStore (the worker's, which
        # writes its schema), not by a reader's reconnection: that would leave an empty file.
        refuse_old_companions(path)
        if connected and file_id(path) is None:
            raise LogMoved(f"the alert log {path} was deleted while haad had it open; it is made afresh "
                           "when the worker writes its next alert")  # fmt: skip

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        nonlocal connected
        _hold(dbapi_connection)
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below)
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")  # first: the WAL switch waits for locks
            _switch_to_wal(cur, cfg.busy_timeout_s)
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
            # Also opens the -wal and -shm (a new file's too), whose identities are noted below.
            schema = cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
        finally:
            cur.close()
        if connected and schema is None:  # a file made afresh at the path, its tables not yet written
            dbapi_connection.close()
            raise LogMoved(f"the alert log {path} was made afresh and has no tables yet")
        record.info[_FILE] = _Opened.now(path)  # the files this connection opened (check_in_place)
        connected = True

    @event.listens_for(engine, "checkout")
    def _on_sqlite_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        try:
            check_in_place(record.info)
        except LogMoved as e:
            raise DisconnectionError(str(e)) from None  # the pool drops it and opens the path afresh

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("haad_write") else "BEGIN")

    _track(engine)
    return engine


class LogMoved(DisconnectionError):
    """The SQLite alert log's file is no longer at its path (deleted, or another file moved there)
    since a connection opened it: what that connection wrote is in a file nobody will read. Or the
    path cannot be opened yet: the old file's ``-wal`` and ``-shm`` are still beside it, or (an
    engine's reconnection) no file is there. A disconnection: the review server answers 503."""


FileId = tuple[int, int]


def file_id(path: Path) -> FileId | None:
    """The identity (device, inode) of the file at ``path``; None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def companions(path: Path) -> tuple[Path, Path]:
    """The ``-wal`` and ``-shm`` files SQLite keeps beside the log at ``path``, named after it."""
    return Path(f"{path}-wal"), Path(f"{path}-shm")


@dataclass(frozen=True)
class _Opened:
    """The identities of the files a SQLite connection opened: the log at ``path`` and its companions."""

    path: Path
    file: FileId | None
    companions: tuple[FileId | None, ...]

    @classmethod
    def now(cls, path: Path) -> _Opened:
        return cls(path, file_id(path), tuple(file_id(p) for p in companions(path)))


def check_in_place(info: dict[Any, Any]) -> None:
    """:class:`LogMoved` unless the SQLite file the connection of ``info`` (its pool record's
    ``info``) opened is still at its path; nothing for PostgreSQL. Its ``-wal`` and ``-shm`` still
    beside the path are then remembered (:func:`refuse_old_companions`)."""
    opened: _Opened | None = info.get(_FILE)
    if opened is None:
        return
    if opened.file is not None and file_id(opened.path) == opened.file:
        return
    _OLD_COMPANIONS.keep(opened)
    raise LogMoved(f"the alert log {opened.path} was deleted or replaced while haad had it open")


def opened_file(s: Session) -> FileId | None:
    """The identity of the SQLite file the connection of session ``s`` opened (None for PostgreSQL):
    what was read in one session may be written back in another only where both name one file."""
    opened: _Opened | None = s.connection().info.get(_FILE)
    return None if opened is None else opened.file


def refuse_old_companions(path: Path) -> None:
    """:class:`LogMoved` while the ``-wal`` or ``-shm`` of a file deleted or replaced at ``path``
    under this process is still beside it: a connection at the path would share them by name with
    any connection still open on the old file (in any process), and corrupt the new log."""
    if left := _OLD_COMPANIONS.left(path):
        raise LogMoved(
            f"the alert log {path} was deleted or replaced while haad had it open; {', '.join(map(str, left))} "
            "belong to the old file: restart haad (or remove them)"
        )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite alert log at ``url``; None for PostgreSQL."""
    parsed = make_url(url)
    return Path(parsed.database or "").expanduser() if parsed.get_backend_name() == "sqlite" else None


def companions_left(url: str) -> list[Path]:
    """The ``-wal`` and ``-shm`` of a SQLite log deleted or replaced under this process (none for
    PostgreSQL) still beside its path (:func:`refuse_old_companions`). Those a new file made at the
    path meanwhile (by another process) has are not."""
    path = sqlite_file(url)
    return [] if path is None else _OLD_COMPANIONS.left(path)


class _OldCompanions:
    """The ``-wal`` and ``-shm`` of SQLite files deleted or replaced under this process, for as long
    as they stay beside the path. Each is held open: an inode number is only unique while its file
    lives, and one freed when they are removed could be given to the new file's ``-wal``."""

    def __init__(self) -> None:
        self._held: dict[Path, dict[Path, int]] = {}  # log path -> companion path -> descriptor
        self._lock = threading.Lock()

    def keep(self, opened: _Opened) -> None:
        """The companions of ``opened`` still beside its path; called while a connection on it is
        open (their inodes cannot be another file's)."""
        with self._lock:
            held = self._held.setdefault(opened.path, {})
            for companion, had in zip(companions(opened.path), opened.companions, strict=True):
                if had is None or companion in held or file_id(companion) != had:
                    continue
                try:
                    fd = os.open(companion, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                if (os.fstat(fd).st_dev, os.fstat(fd).st_ino) == had:
                    held[companion] = fd
                else:  # removed and made again between the two looks: the new file's
                    os.close(fd)

    def left(self, path: Path) -> list[Path]:
        """Those of ``path`` still beside it; the others are let go."""
        with self._lock:
            held = self._held.get(path, {})
            for companion, fd in list(held.items()):
                st = os.fstat(fd)
                if file_id(companion) != (st.st_dev, st.st_ino):
                    os.close(fd)
                    del held[companion]
            if not held:
                self._held.pop(path, None)
            return sorted(held)


_OLD_COMPANIONS = _OldCompanions()


def _switch_to_wal(cur: sqlite3.Cursor, busy_timeout_s: float) -> None:
    """``PRAGMA journal_mode = WAL``, waiting for the write lock as long as the busy timeout allows.
    On a file not yet in WAL mode the switch reads the header, then writes it: another connection
    holding the write lock meanwhile (several processes opening one new log at once) makes it fail
    with SQLITE_BUSY at once, the busy handler not called for a reader's upgrade. Tried again, it
    starts afresh: a plain wait for the lock, or nothing to do once another switched the file."""
    deadline = time.monotonic() + busy_timeout_s
    pause = 0.001
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


class SchemaTooNew(CommandError):
    """The log's schema is at a revision this haad does not have: a newer haad on another host
    sharing the log upgraded it. Writing to it could break that schema's rules, so it is refused."""


def upgrade_to_head(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration; a no-op when it is current. Safe when
    several processes open one database at once: the upgrade runs under the write lock (SQLite) or an
    advisory lock (PostgreSQL), so the later one finds the schema current. :class:`SchemaTooNew`
    when a newer haad upgraded it past what this one knows."""
    with _UPGRADE_IN_PROCESS, engine.execution_options(**WRITE).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        cfg = alembic_config(conn)
        scripts = ScriptDirectory.from_config(cfg)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
            raise SchemaTooNew(
                f"the alert log's schema is at revision {current}, newer than this haad knows (its newest is "
                f"{scripts.get_current_head()}): another host's newer haad upgraded it; upgrade haad here"
            )
        command.upgrade(cfg, "head")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the shipped migrations (no alembic.ini): env.py runs on ``connection``.
    Developers add a revision with ``command.revision(alembic_config(conn), message=..., autogenerate=True)``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


# --- cutting calls that hang -------------------------------------------------------------------------

_HELD: dict[int, set[Any]] = {}  # thread id -> DBAPI connections it opened or checked out
_HELD_LOCK = threading.Lock()


def _hold(dbapi_connection: Any) -> None:
    with _HELD_LOCK:
        _HELD.setdefault(threading.get_ident(), set()).add(dbapi_connection)


def _track(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        _hold(dbapi_connection)

    @event.listens_for(engine, "close")
    def _on_close(dbapi_connection: Any, _record: Any) -> None:
        with _HELD_LOCK:
            for held in _HELD.values():
                held.discard(dbapi_connection)


def cut_connections(thread_id: int) -> int:
    """Make every database call of thread ``thread_id`` fail now: the sockets of its PostgreSQL
    connections are shut down, its SQLite connections interrupted. How many were cut."""
    with _HELD_LOCK:
        held = list(_HELD.get(thread_id, ()))
    for conn in held:
        try:
            if hasattr(conn, "fileno"):  # psycopg: the call waiting on the socket sees it closed
                with socket.socket(fileno=os.dup(conn.fileno())) as s:
                    s.shutdown(socket.SHUT_RDWR)
            else:
                conn.interrupt()
        except Exception:  # noqa: BLE001 - closed meanwhile: nothing left to cut
            pass
    return len(held)


class CallDeadlines:
    """``with DEADLINES.within(seconds): ...`` cuts the calling thread's database connections
    (:func:`cut_connections`) once the block has run ``seconds``, so a call to a server that stopped
    answering fails instead of hanging. One watcher thread per process, idle while no block runs."""

    def __init__(self) -> None:
        self._due: dict[int, float] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def forget(self) -> None:
        """No block, no watcher: in a forked child, whose parent's watcher thread is gone (and may
        have held the condition's lock at the fork)."""
        self.__dict__.update(_due={}, _changed=threading.Condition(), _thread=None)

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        me = threading.get_ident()
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="haad-db-deadlines", daemon=True)
                self._thread.start()
            self._due[me] = time.monotonic() + seconds
            self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                self._due.pop(me, None)

    def cut_now(self, thread_id: int) -> None:
        """Cut ``thread_id``'s connections at once if it is inside a block (a shutdown that cannot wait)."""
        with self._changed:
            if thread_id in self._due:
                self._due[thread_id] = 0.0
                self._changed.notify()

    def _watch(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                late = [t for t, due in self._due.items() if now >= due]
                for t in late:
                    self._due[t] = float("inf")  # once per block
                if not late:
                    soonest = min(self._due.values(), default=float("inf"))
                    self._changed.wait(None if soonest == float("inf") else soonest - now)
                    continue
            for t in late:
                cut_connections(t)


DEADLINES = CallDeadlines()


def _forget_other_threads() -> None:
    """In a forked child only the forking thread lives on: a lock another thread held at the fork
    (an upgrade, the deadline watcher's) would stay held for ever, and that thread's connections are
    not the child's to cut. Tests fork haad to spare its imports (a forked ``haad alerts deliver`` hung
    so)."""
    global _HELD_LOCK, _UPGRADE_IN_PROCESS
    _HELD_LOCK, _UPGRADE_IN_PROCESS = threading.Lock(), threading.Lock()
    _HELD.clear()
    DEADLINES.forget()


os.register_at_fork(after_in_child=_forget_other_threads)
