"""The one-notifier lock on a real PostgreSQL: one per alert log, not one per server database."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from edge.events.notifier import DeliveryLock


def test_alert_logs_in_two_schemas_of_one_database_each_get_a_notifier(pg_url: str) -> None:
    """The advisory lock's key was one constant per database: a second site's alert log in its own
    schema (options=-csearch_path) found the lock taken and its events were never delivered."""
    other_schema = f"haad_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{other_schema}"'))
    other_url = pg_url.rsplit("%3D", 1)[0] + f"%3D{other_schema}"
    locks = [DeliveryLock(pg_url), DeliveryLock(other_url), DeliveryLock(pg_url)]
    try:
        assert locks[0].acquire() and locks[1].acquire()  # two alert logs, two notifiers
        assert not locks[2].acquire()  # still one per alert log
    finally:
        for lock in locks:
            lock.release()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{other_schema}" CASCADE'))
        engine.dispose()
