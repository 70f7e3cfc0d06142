"""The outbox: every alert change becomes an ``events`` row in the transaction that makes the change,
and each sink's progress through them is a row of ``event_cursors``.

Writers (:class:`~edge.store.AlertStore`) call :func:`record_alert_events` inside their write
transaction, so an event exists exactly when its alert change was committed; a broker or webhook
outage, or a restart, loses nothing. Event ids must become visible in id order for a cursor to be
safe: SQLite writers are serialised by ``BEGIN IMMEDIATE``; on PostgreSQL a transaction-scoped
advisory lock taken before the insert makes writers of events commit one at a time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, text
from sqlalchemy.orm import Session, aliased

from config.events import EventKind
from edge.store.models import Alert, Event, EventCursor

SCHEMA_VERSION = 1
_PG_EVENTS_LOCK = 0x6861_6165  # serialises event writers on PostgreSQL (an arbitrary constant)


_JSON_FIELDS = (
    "id", "stream_id", "person", "box", "profile", "profile_version", "started_at", "ended_at", "peak_score",
    "mean_score", "threshold", "n_windows", "model_version", "n_kept", "status", "note",
    "reviewed_at", "reviewed_by", "host", "nearest",
)  # fmt: skip


def alert_json(row: Alert | Row[Any]) -> dict[str, Any]:
    """An alert's scalar fields, JSON-ready (datetimes ISO-8601 UTC); never its windows. ``row`` is an
    alert or a row of its columns named in ``_JSON_FIELDS`` and ``others``."""
    out: dict[str, Any] = {}
    for name in _JSON_FIELDS:
        v = getattr(row, name)
        out[name] = v.isoformat() if isinstance(v, datetime) else v
    out["others"] = row.others or []
    return out


def record_alert_events(s: Session, changes: Sequence[tuple[int, EventKind]]) -> None:
    """Add one event per (alert id, kind) to the open write transaction ``s``; call it after the
    alert rows were flushed."""
    if not changes:
        return
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_EVENTS_LOCK})
    now = datetime.now(UTC)
    # The changed rows' columns in one query and the open alerts of their streams in another, then
    # the events in one statement: no ORM objects (the alert writer's thread holds the interpreter
    # lock while it builds them).
    ids = sorted({alert_id for alert_id, _ in changes})
    # Whether an alert of its stream (and profile) started later: a review of an older alert must not
    # replace the retained "latest alert" topics of MQTT. Later means written later too: an alert
    # stamped before the wall clock stepped back (NTP, a clock set ahead then corrected) must not stay
    # the newest over the alerts after it until the clock catches up. For live episodes, the newest,
    # each probe finds an empty range of ix_alerts_stream_id_started_at at once.
    later = aliased(Alert)
    newer = select(later.id).where(
        later.stream_id == Alert.stream_id, later.started_at > Alert.started_at, later.id > Alert.id
    )
    columns = [getattr(Alert, name) for name in (*_JSON_FIELDS, "others")] + [
        newer.exists().label("newer_in_stream"),
        newer.where(later.profile == Alert.profile).exists().label("newer_in_profile"),
    ]
    rows = {row.id: row for row in s.execute(select(*columns).where(Alert.id.in_(ids)))}
    streams = sorted({row.stream_id for row in rows.values()})
    open_query = (
        select(Alert.stream_id, func.count())
        .where(Alert.stream_id.in_(streams), Alert.ended_at.is_(None))
        .group_by(Alert.stream_id)
    )
    open_in: dict[str, int] = {stream: int(n) for stream, n in s.execute(open_query)}
    events = []
    for alert_id, kind in changes:
        row = rows[alert_id]
        payload = {
            "schema_version": SCHEMA_VERSION,
            "type": kind,
            "alert": alert_json(row),
            # The stream is abnormal while any of its episodes is open (a binary sensor's state).
            "stream_open_alerts": open_in.get(row.stream_id, 0),
            "newest": {"stream": not row.newer_in_stream, "profile": not row.newer_in_profile},
            "at": now.isoformat(),
        }
        events.append(
            {"uid": str(uuid.uuid4()), "alert_id": alert_id, "stream_id": row.stream_id, "profile": row.profile,
             "kind": kind, "created_at": now, "payload": json.dumps(payload)}
        )  # fmt: skip
    s.execute(insert(Event), events)


@dataclass(frozen=True)
class OutboxEvent:
    """An event as sinks get it: ``id`` orders the events of its log, ``uid`` is unique across logs
    (:class:`~edge.store.models.Event`)."""

    id: int
    uid: str
    kind: EventKind
    stream_id: str
    profile: str
    created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class CursorState:
    """Where a sink stands: ``last_id`` done, ``pending`` events after it, retry bookkeeping."""

    sink: str
    last_id: int
    pending: int
    delivered: int
    skipped: int
    failures: int
    next_attempt_at: datetime | None
    first_failure_at: datetime | None
    refused_s: float  # of the next event, outages left out: skipped at give_up_after_s
    last_error: str

    def to_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.__dict__.items()}


def ensure_cursor(s: Session, sink: str, *, start: str | datetime = "now") -> EventCursor:
    """The sink's cursor; a new sink starts after the newest event (``start='now'``), at the
    beginning (``'all'``), or with the first event written at or after ``start`` (a datetime)."""
    cur = s.get(EventCursor, sink)
    if cur is None:
        if start == "all":
            last = 0
        else:
            before = select(func.max(Event.id))
            if isinstance(start, datetime):
                before = before.where(Event.created_at < start)
            last = int(s.scalar(before) or 0)
        cur = EventCursor(sink=sink, last_id=last, delivered=0, skipped=0, failures=0, refused_s=0.0,
                          last_error="", updated_at=datetime.now(UTC))  # fmt: skip
        s.add(cur)
        s.flush()
    return cur


def pending_events(s: Session, after_id: int, limit: int) -> list[OutboxEvent]:
    rows = s.scalars(select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit))
    return [
        OutboxEvent(r.id, r.uid, r.kind, r.stream_id, r.profile, r.created_at, json.loads(r.payload))  # type: ignore[arg-type]
        for r in rows
    ]


def cursor_states(s: Session) -> list[CursorState]:
    out = []
    for cur in s.scalars(select(EventCursor).order_by(EventCursor.sink)):
        pending = s.scalar(select(func.count()).select_from(Event).where(Event.id > cur.last_id)) or 0
        out.append(
            CursorState(
                cur.sink, cur.last_id, int(pending), cur.delivered, cur.skipped, cur.failures,
                cur.next_attempt_at, cur.first_failure_at, cur.refused_s, cur.last_error,
            )
        )  # fmt: skip
    return out


def prune_events(s: Session, before: datetime) -> int:
    """Delete events older than ``before`` that every sink has passed; how many."""
    floor = s.scalar(select(func.min(EventCursor.last_id)))
    if floor is None:  # no sink ever read them: nothing is waiting for them
        floor = s.scalar(select(func.max(Event.id))) or 0
    result = s.execute(delete(Event).where(Event.id <= floor, Event.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
