"""A SQLite alert log deleted and made afresh under the review server: its event ids begin again, so
a live stream (open, or a page's reconnect with Last-Event-ID) waiting for one past the old log's
last said nothing until the new log's ids got there. Its ``id:`` now carries the event's uid too."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from review_helpers import AUTH, Seeded, demo_alert, free_port, make_context, running
from sqlalchemy import select

from edge.review.app import create_app
from edge.store import AlertStore
from edge.store.models import Event


def _made_afresh(db: Path) -> None:
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):  # rm alerts.db*
        path.unlink(missing_ok=True)


def _write(url: str, seed: int) -> int:
    with AlertStore(url) as store:
        [alert_id] = store.write_alerts([demo_alert("door", "demo-walk", datetime.now(UTC), seed=seed)])
    return alert_id


@pytest.mark.parametrize("resumed", [False, True])  # a stream open throughout; a page's reconnect after
def test_a_live_stream_goes_on_with_a_log_made_afresh(seeded: Seeded, tmp_path: Path, resumed: bool) -> None:
    with AlertStore(seeded.url) as store, store.reading() as s:
        last, uid = s.execute(select(Event.id, Event.uid).order_by(Event.id.desc()).limit(1)).one()
    assert last >= 6  # the new log's first events come below it
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, port=port)
    try:
        with running(create_app(ctx), port) as base, httpx.Client(base_url=base, timeout=5) as client:
            if resumed:
                _made_afresh(tmp_path / "alerts.db")
            else:  # the open stream ends (before: no line came): the browser reconnects, the page reloads
                with client.stream("GET", "/api/v1/events/live", headers=AUTH) as stream:
                    lines = stream.iter_lines()
                    assert next(lines).startswith("retry:")
                    _made_afresh(tmp_path / "alerts.db")
                    _write(seeded.url, seed=30)
                    # it ends (a read past the client's timeout would raise), having sent no alert;
                    # a poll between the deletion and the new log's tables says log-down first
                    rest = [line for line in lines if line]
                    assert not [line for line in rest if line.startswith("data:") and '"alert"' in line], rest
            _write(seeded.url, seed=31)  # before the page is back: it reloads what it shows
            headers = {**AUTH, "Last-Event-ID": f"{last}:{uid}"}
            with client.stream("GET", "/api/v1/events/live", headers=headers) as stream:
                lines = stream.iter_lines()
                assert next(lines).startswith("retry:")
                alert_id = _write(seeded.url, seed=32)
                # before: no line within the read timeout (the new log's ids are all below ``last``)
                said = list(itertools.islice(filter(None, lines), 3))
        with AlertStore(seeded.url) as store, store.reading() as s:
            new_id, new_uid = s.execute(
                select(Event.id, Event.uid).where(Event.alert_id == alert_id).order_by(Event.id)
            ).first()
        assert new_id < last
        assert said[:2] == [f"id: {new_id}:{new_uid}", "event: alert"]
        data = json.loads(said[2].removeprefix("data: "))
        assert (data["event_id"], data["event_uid"], data["alert"]["id"]) == (new_id, new_uid, alert_id)
    finally:
        ctx.store.close()


def test_a_resume_point_in_this_log_misses_nothing(live_server: str, seeded: Seeded) -> None:
    """The uid of the event resumed after is this log's: the events after it come, none skipped."""
    with AlertStore(seeded.url) as store, store.reading() as s:
        events = s.execute(select(Event.id, Event.uid).order_by(Event.id)).all()
    (at, uid) = events[-3]
    got: list[str] = []
    with httpx.stream(
        "GET", f"{live_server}/api/v1/events/live", params={"after": f"{at}:{uid}"}, headers=AUTH, timeout=5
    ) as r:
        for line in r.iter_lines():
            if line.startswith("id: "):
                got.append(line[4:])
            if len(got) == 2:
                break
    assert got == [f"{i}:{u}" for i, u in events[-2:]]
