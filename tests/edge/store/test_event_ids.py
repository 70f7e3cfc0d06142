"""Event ids are never given out twice in one alert log, and every event has a uid no other log's
event has (what receivers drop duplicates by). On SQLite, once retention deleted every event the
next one took id 1 again, below every sink's cursor, and was never sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import text

from config.store import StoreConfig
from edge.store import AlertStore
from edge.store.engine import alembic_config, make_engine
from edge.store.outbox import ensure_cursor, pending_events, prune_events
from tests.edge.store.conftest import MakeAlert

# An event as haad 0010 wrote it (naming no uid).
EVENT = (
    "INSERT INTO events (alert_id, stream_id, profile, kind, created_at, payload)"
    " VALUES (1, 'cam1', 'walk', 'open', :t, '{}')"
)


def test_an_event_after_retention_deleted_every_event_goes_to_the_sinks(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        store.write_alerts([make_alert(), make_alert()])
        with store.writing() as s:
            last_id = ensure_cursor(s, "webhook:ops").last_id  # past both
            old = {e.uid for e in pending_events(s, 0, 10)}
            assert prune_events(s, datetime.now(UTC) + timedelta(days=1)) == len(old)
        store.write_alerts([make_alert(ended_at=None)])
        with store.reading() as s:
            [new] = pending_events(s, last_id, 10)
            assert pending_events(s, last_id, 10) == [new]  # read again (a redelivery): the same uid
    assert new.id > last_id
    assert new.uid not in old and str(uuid.UUID(new.uid)) == new.uid


def test_a_log_upgraded_from_0010_gives_its_events_uids_and_never_an_id_a_cursor_passed(
    store_url: str, make_alert: MakeAlert
) -> None:
    """Events 3 to 5 deleted by retention, a sink's cursor past them: the next event is 6."""
    engine = make_engine(StoreConfig(url=store_url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0010")
            conn.execute(text(EVENT), [{"t": "2024-05-01 12:00:00+00:00"}] * 5)
            conn.execute(text("DELETE FROM events WHERE id > 2"))
            conn.execute(
                text(
                    "INSERT INTO event_cursors (sink, last_id, delivered, skipped, failures, last_error,"
                    " updated_at) VALUES ('webhook:ops', 5, 5, 0, 0, '', :t)"
                ),
                {"t": "2024-05-01 12:00:00+00:00"},
            )
    finally:
        engine.dispose()
    with AlertStore(store_url) as store:
        with store.reading() as s:
            before = pending_events(s, 0, 10)
        store.write_alerts([make_alert(ended_at=None)])
        with store.reading() as s:
            [new] = pending_events(s, 5, 10)
    assert [e.id for e in before] == [1, 2] and new.id == 6
    uids = [e.uid for e in [*before, new]]
    assert len(set(uids)) == 3 and all(str(uuid.UUID(u)) == u for u in uids)


def test_an_event_an_older_haad_writes_to_a_shared_postgresql_log_gets_a_uid(pg_url: str) -> None:
    """Another host's haad, not yet upgraded, names no uid: its alert writes failed on the column."""
    AlertStore(pg_url).close()
    engine = make_engine(StoreConfig(url=pg_url))
    try:
        with engine.begin() as conn:
            conn.execute(text(EVENT), [{"t": "2024-05-01 12:00:00+00:00"}] * 2)
            uids = conn.scalars(text("SELECT uid FROM events")).all()
    finally:
        engine.dispose()
    assert len(set(uids)) == 2 and all(str(uuid.UUID(u)) == u for u in uids)
