"""Engines for the alert log and the schema upgrade that runs whenever one is opened.

SQLite: WAL (readers never block the writer), ``synchronous=NORMAL`` (durable at checkpoints, never
corrupt), a busy timeout and foreign keys, set on every new connection. sqlite3's own transaction
handling is switched off so that SQLAlchemy emits BEGIN itself: plain BEGIN for reads and BEGIN
IMMEDIATE for writes (:data:`WRITE`). A deferred write transaction that read first cannot wait for
the lock in WAL mode (SQLITE_BUSY at once); an immediate one queues for it behind the busy timeout.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text

from config.store import StoreConfig

MIGRATIONS = Path(__file__).parent / "migrations"
WRITE = {"haad_write": True}  # execution options of a write transaction (BEGIN IMMEDIATE on SQLite)
# Serialises schema upgrades of processes sharing one PostgreSQL database (an arbitrary constant).
_PG_MIGRATION_LOCK = 0x6861_6164  # "haad"
# Alembic's ``context``/``op`` are process-wide proxies: two threads migrating at once would run each
# other's env.py on the wrong connection, so upgrades within one process take turns.
_UPGRADE_IN_PROCESS = threading.Lock()


def make_engine(cfg: StoreConfig, *, echo: bool = False) -> Engine:
    url = make_url(cfg.url)
    if url.get_backend_name() != "sqlite":
        return create_engine(
            url,
            echo=echo,
            pool_size=cfg.pool_size,
            max_overflow=cfg.max_overflow,
            pool_timeout=cfg.pool_timeout_s,
            pool_pre_ping=True,  # a server restart must not fail the next alert write
            connect_args={"connect_timeout": max(1, round(cfg.busy_timeout_s))},
        )
    assert url.database is not None  # config.store refuses in-memory SQLite
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        pool_size=cfg.pool_size,
        max_overflow=cfg.max_overflow,
        pool_timeout=cfg.pool_timeout_s,
        connect_args={"timeout": cfg.busy_timeout_s},
    )
    busy_ms = round(cfg.busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below)
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")  # first: the WAL switch may need the lock
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("haad_write") else "BEGIN")

    return engine


def upgrade_to_head(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration; a no-op when it is current. Safe when
    several processes open one database at once: the upgrade runs under the write lock (SQLite) or an
    advisory lock (PostgreSQL), so the later one finds the schema current."""
    with _UPGRADE_IN_PROCESS, engine.execution_options(**WRITE).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), "head")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the shipped migrations (no alembic.ini): env.py runs on ``connection``.
    Developers add a revision with ``command.revision(alembic_config(conn), message=..., autogenerate=True)``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg
