"""An alert log whose sink was refusing an event when haad was upgraded (revision 0008, before the
refusal time of revision 0009) opens with that sink's place and counts kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from config.store import StoreConfig
from edge.store import AlertStore
from edge.store.engine import alembic_config, make_engine
from edge.store.outbox import cursor_states

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_cursor_refusing_an_event_at_the_upgrade_keeps_its_place_and_counts_its_refusals_from_0(
    store_url: str,
) -> None:
    from alembic import command

    engine = make_engine(StoreConfig(url=store_url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0008")
            conn.execute(
                text(
                    "INSERT INTO event_cursors (sink, last_id, delivered, skipped, failures, next_attempt_at,"
                    " first_failure_at, last_error, updated_at) VALUES ('webhook:ops', 7, 6, 1, 3, :t, :t,"
                    " 'ops: HTTP 500', :t)"
                ),
                {"t": "2024-05-01 12:00:00+00:00"},
            )
    finally:
        engine.dispose()
    with AlertStore(store_url) as store, store.reading() as s:
        [state] = cursor_states(s)
    assert (state.sink, state.last_id, state.delivered, state.skipped, state.failures) == (
        "webhook:ops",
        7,
        6,
        1,
        3,
    )
    assert (state.first_failure_at, state.last_error) == (T0, "ops: HTTP 500")
    # first_failure_at counted the outages since too: the event's refusals count from the upgrade on.
    assert state.refused_s == 0
