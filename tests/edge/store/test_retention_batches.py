"""Retention of a long backlog (a daemon down for months, retention first switched on) goes in many
short write transactions: the worker's alert writes wait for each one (SQLite has one write lock), and
one transaction over the whole backlog held them back past ``store.busy_timeout_s``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from config.store import RetentionConfig
from edge.store import AlertStore, retention
from tests.edge.store.conftest import MakeAlert


@pytest.fixture
def rows_per_transaction() -> Iterator[list[int]]:
    """Alert rows each committed transaction updated or deleted (of every engine meanwhile)."""
    committed: list[int] = []
    pending: dict[int, int] = defaultdict(int)

    def executed(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE ALERTS", "DELETE FROM ALERTS")):
            pending[id(conn)] += max(cursor.rowcount, 0)

    def commit(conn: Connection) -> None:
        committed.append(pending.pop(id(conn), 0))

    event.listen(Engine, "after_cursor_execute", executed)
    event.listen(Engine, "commit", commit)
    yield committed
    event.remove(Engine, "after_cursor_execute", executed)
    event.remove(Engine, "commit", commit)


def test_a_long_backlog_is_pruned_in_transactions_of_at_most_a_batch(
    store_url: str, make_alert: MakeAlert, rows_per_transaction: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 10)
    now = datetime.now(UTC)
    ages = [timedelta(days=100)] * 25 + [timedelta(days=40)] * 25 + [timedelta(hours=1)] * 25
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [make_alert(k=1, started_at=now - age - timedelta(seconds=i)) for i, age in enumerate(ages)]
        )
        rows_per_transaction.clear()
        report = retention.prune(
            store, RetentionConfig(max_age_days=90, windows_days=30, max_rows=10), now=now
        )
        left = [a.id for a in store.list_alerts(limit=100)]
    assert (report.windows_dropped, report.deleted_by_age, report.deleted_by_rows) == (50, 25, 40)
    assert sorted(left) == sorted(ids[50:60])  # the 10 newest
    assert sum(rows_per_transaction) == 50 + 25 + 40
    assert max(rows_per_transaction) <= 10, rows_per_transaction
