"""Event payload times (MQTT, webhooks, the review pages' live updates) from a fleet whose hosts run
in different zones: each is ISO-8601 UTC with its offset (Home Assistant and receivers read them as
instants), whatever zone the writer's time or the database session was in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.store import AlertStore
from edge.store.outbox import pending_events
from tests.edge.review.review_helpers import demo_alert

# Berlin's spring-forward instant: 03:30 CEST there, 18:30 PDT the day before in Los Angeles.
INSTANT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_payload_times_are_utc_with_an_offset_whatever_the_writers_zone(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'alerts.db'}"
    else:  # the database session in Los Angeles time too: timestamptz comes back in it
        url = request.getfixturevalue("pg_url") + "%20-ctimezone%3DAmerica/Los_Angeles"
    berlin = demo_alert("door", "demo-walk", INSTANT.astimezone(ZoneInfo("Europe/Berlin")), seed=1)
    los_angeles = demo_alert("dock", "demo-walk", INSTANT.astimezone(ZoneInfo("America/Los_Angeles")), seed=2)
    with AlertStore(url) as store:
        ids = store.write_alerts([berlin, los_angeles])
        assert [store.get_alert(i).started_at.isoformat() for i in ids] == [INSTANT.isoformat()] * 2
        with store.reading() as s:
            events = pending_events(s, 0, 10)
    assert {e.payload["alert"]["id"] for e in events} == set(ids)
    assert {e.payload["alert"]["started_at"] for e in events} == {"2026-03-29T01:30:00+00:00"}
    assert {e.payload["alert"]["ended_at"] for e in events} == {"2026-03-29T01:30:04.200000+00:00"}
    assert all(datetime.fromisoformat(e.payload["at"]).utcoffset() is not None for e in events)
