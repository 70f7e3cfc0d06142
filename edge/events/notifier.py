"""The notifier: delivers the outbox to every sink, in event order, at least once.

Each round, per sink: read the events after its cursor, hand each one the sink wants to
``deliver``, and move the cursor past it; an event it does not want is passed over. A failed delivery
stops that sink for the round and schedules a retry with exponential back-off
(``initial_backoff_s`` doubling up to ``max_backoff_s``); other sinks go on, each in a thread of its
own, so a slow one delays only itself. An event a sink has refused for ``give_up_after_s`` is
skipped, counted and logged, so one poisoned event cannot block a sink forever (0 = never give up);
one the sink can tell is refused for good (``DeliveryError.refused``) at once. Only that event's
refusals count: the time from one refusal of it to the next with no outage between them (a sink that
cannot be reached, ``DeliveryError.unreachable``: a broker down, a connection refused, refuses
nothing, and its time counts for nothing, before, between or after refusals), at most
``max_backoff_s`` + ``poll_s`` of each such gap (the longest a running notifier waits between two
tries: not the time it was stopped, or its alert log away). Kept across restarts; the next event
starts from 0.
A crash between a delivery and its cursor update sends that event again on restart: receivers see
``event_uid`` / ``X-Haad-Delivery`` to drop duplicates (``event_id`` is given out again by another
log at the path: a new file, a backup put back).

A SQLite log deleted or replaced under it (edge.store.engine): events read from the old file move no
cursor of the new one, and a sink the new file has no cursor for (made afresh, a backup from before
the sink) starts with its events written since the notifier started, as a new sink.

One notifier delivers per alert log: it holds a lock (``flock`` on a file next to a SQLite database,
a PostgreSQL advisory lock per schema on its own connection); a second one waits until the first is
gone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from config.events import EventsConfig
from edge import metrics
from edge.events.links import alert_with_links, with_links
from edge.events.sinks import Current, DeliveryError, Sink
from edge.store import AlertStore
from edge.store.engine import FileId, LogMoved, opened_file
from edge.store.models import Alert, EventCursor
from edge.store.outbox import CursorState, alert_json, cursor_states, ensure_cursor, pending_events

log = logging.getLogger("haad.events")
_PG_NOTIFIER_LOCK = 0x6861_6166
STANDBY_RETRY_S = 10.0  # a notifier standing by tries the one-notifier lock again this often


def build_sinks(cfg: EventsConfig, streams: Sequence[str] = ()) -> list[Sink]:
    from edge.events.mqtt import MqttSink
    from edge.events.webhook import WebhookSink

    sinks: list[Sink] = []
    if cfg.mqtt is not None:
        sinks.append(MqttSink(cfg.mqtt, streams))
    sinks += [WebhookSink(w) for w in cfg.webhooks]
    return sinks


class Notifier:
    def __init__(
        self,
        cfg: EventsConfig,
        store: AlertStore,
        sinks: Sequence[Sink],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        snapshot_streams: Collection[str] = (),
        new_sinks_from: datetime | None = None,
    ) -> None:
        """``snapshot_streams``: the cameras whose alerts have a thumbnail to link to.
        ``new_sinks_from``: a sink new to this log starts with the events written from then on
        (when its notifier started: a log that answered only later got meanwhile the alerts the
        outage held back); default: those after now."""
        self.cfg, self.store, self.sinks, self.clock = cfg, store, list(sinks), clock
        self.snapshot_streams = frozenset(snapshot_streams)
        self.new_sinks_from = new_sinks_from or clock()  # also for a cursor its log's new file lacks
        with store.writing() as s:
            for sink in self.sinks:
                ensure_cursor(s, sink.name, start=new_sinks_from or "now")
        for sink in self.sinks:
            metrics.DELIVERY_FAILURES.labels(sink.name)  # a series at 0 from the start

    def step(self) -> int:
        """One round over every sink; the number of events delivered."""
        delivered = sum(self._step_sink(sink) for sink in self.sinks)
        self._count_pending({sink.name for sink in self.sinks})
        return delivered

    def states(self) -> list[CursorState]:
        with self.store.reading() as s:
            return cursor_states(s)

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set (polls every ``poll_s``), holding the one-notifier lock."""
        lock = DeliveryLock(self.store.config.url)
        try:
            waited = False
            while not stop.is_set():
                if lock.acquire():
                    if waited:
                        log.warning("the other notifier for %s is gone; delivering from here", self.store.url)
                    break
                if not waited:  # once, not every 10 s for as long as the other one runs
                    log.warning("another notifier delivers for %s; standing by", self.store.url)
                waited = True
                stop.wait(STANDBY_RETRY_S)
            self._retry_now()
            # A thread per sink: a webhook answering just within its timeout, event after event,
            # held MQTT (and Home Assistant) back for as long as its backlog took.
            threads = [
                threading.Thread(
                    target=self._run_sink, args=(sink, stop), name=f"notifier-{sink.name}", daemon=True
                )
                for sink in self.sinks
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            lock.release()

    def _retry_now(self) -> None:
        """A (re)started notifier tries each sink at once: the back-off of an earlier run's failures
        (up to max_backoff_s) held back the first delivery after the broker or url was fixed and the
        daemon restarted. Failures and the event's refusal time stay: give_up_after_s counts across runs."""
        with self.store.writing() as s:
            for sink in self.sinks:
                cur = s.get(EventCursor, sink.name)
                if cur is not None:
                    cur.next_attempt_at = None

    def _run_sink(self, sink: Sink, stop: threading.Event) -> None:
        moved = ""  # why the log's file cannot be read now: said once, not every round it lasts
        while not stop.is_set():
            try:
                delivered = self._step_sink(sink, stop)
                self._count_pending({sink.name})
                moved = ""
                if delivered == 0:
                    stop.wait(self.cfg.poll_s)
            except LogMoved as e:  # deleted or replaced under haad: the file at its path read once it can be
                if str(e) != moved:
                    log.warning(
                        "%s: %s; delivering from the file at its path once it can be read", sink.name, e
                    )
                moved = str(e)
                stop.wait(max(self.cfg.poll_s, 1.0))
            except Exception:  # the database went away, a sink misbehaved: log, wait, go on
                log.exception("%s: notifier round failed; retrying", sink.name)
                stop.wait(max(self.cfg.poll_s, 1.0))

    def _count_pending(self, sinks: Collection[str]) -> None:
        for state in self.states():
            if state.sink in sinks:
                metrics.EVENTS_PENDING.labels(state.sink).set(state.pending)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    # --- one sink ----------------------------------------------------------------------------------

    def _step_sink(self, sink: Sink, stop: threading.Event | None = None) -> int:
        """Deliver ``sink``'s next batch, up to ``stop`` (a stopping daemon waits for one slow
        delivery, not for a batch of them)."""
        now = self.clock()
        with self.store.reading() as s:
            cur = s.get(EventCursor, sink.name)
            if cur is None:  # the log's file was deleted or replaced under haad (see the module docstring)
                with self.store.writing() as w:
                    ensure_cursor(w, sink.name, start=self.new_sinks_from)
                return 0
            read_from = opened_file(s)
            # A broker back since the last failure (the sink reconnected) ends the back-off: it held
            # the outage's alerts and Home Assistant's availability back for the rest of it.
            waiting = cur.next_attempt_at is not None and cur.next_attempt_at > now
            if waiting and not _connected_since(sink, cur.updated_at):
                return 0
            last_id = cur.last_id
            events = pending_events(s, last_id, self.cfg.batch)
        announce = getattr(sink, "announce", None)
        if announce is not None and getattr(sink, "needs_announce", False):
            try:
                announce(self._current())
            except DeliveryError as e:
                self._failed(sink, last_id, e, now, read_from)
                return 0
            # The sink is back: its failures (the back-off) must not outlive the outage.
            self._advance(sink, last_id, read_from, delivered=0, recovered=True)
        delivered = 0
        for event in events:
            if stop is not None and stop.is_set():
                break
            if sink.wants(event):
                try:
                    sink.deliver(with_links(event, self.cfg.public_url, self.snapshot_streams))
                except DeliveryError as e:
                    # First the events before it: the refusal time so far was theirs (one taken after
                    # a day of refusals and outages had the next one skipped at its first refusal).
                    self._advance(sink, last_id, read_from, delivered=delivered)
                    refused_s = self._failed(sink, last_id, e, now, read_from)
                    if refused_s is not None:
                        why = "" if e.refused else f" after {refused_s:.0f} s of refusals"
                        log.error("%s: giving up on event %d%s: %s", sink.name, event.id, why, e)
                        self._advance(sink, event.id, read_from, delivered=0, skipped=1)
                    return delivered
                delivered += 1
            last_id = event.id
        if events:
            self._advance(sink, last_id, read_from, delivered=delivered)
        return delivered

    def _current(self) -> Current:
        with self.store.reading() as s:
            rows = s.execute(
                select(Alert.stream_id, func.count())
                .where(Alert.ended_at.is_(None))
                .group_by(Alert.stream_id)
            )
            open_alerts = {stream: int(n) for stream, n in rows}
            newest_ids = select(func.max(Alert.id)).group_by(Alert.stream_id, Alert.profile)
            newest = {
                (a.stream_id, a.profile): alert_with_links(
                    alert_json(a), self.cfg.public_url, self.snapshot_streams
                )
                for a in s.scalars(select(Alert).where(Alert.id.in_(newest_ids)))
            }
        return Current(open_alerts, newest)

    def _advance(
        self,
        sink: Sink,
        last_id: int,
        read_from: FileId | None,
        *,
        delivered: int,
        skipped: int = 0,
        recovered: bool = False,
    ) -> None:
        """Move ``sink``'s cursor past ``last_id``, an event of the file ``read_from`` (:func:`opened_file`)."""
        with self.store.writing() as s:
            cur = self._cursor(s, sink, read_from)
            moved = last_id > cur.last_id or skipped
            if moved or recovered:
                cur.last_id = max(cur.last_id, last_id)
                cur.delivered += delivered
                cur.skipped += skipped
                cur.failures = 0
                cur.next_attempt_at = None
                cur.refused_at = None  # recovered: after an outage, whose time is no refusal's
                if moved:  # the next event's refusals are its own
                    cur.first_failure_at = None
                    cur.refused_s = 0.0
                cur.last_error = ""
                cur.updated_at = self.clock()

    def _failed(
        self, sink: Sink, last_id: int, error: DeliveryError, now: datetime, read_from: FileId | None
    ) -> float | None:
        """Book a failed delivery of the event after ``last_id``: its refusal time (see the module
        docstring), then a retry with back-off; or, where it is to be given up, how long it was refused."""
        with self.store.writing() as s:
            cur = self._cursor(s, sink, read_from)
            if error.unreachable:
                cur.refused_at = None  # an outage: the time till the event's next refusal is not its own
            else:
                if cur.refused_at is not None:
                    gap = (now - cur.refused_at).total_seconds()
                    cur.refused_s += min(max(gap, 0.0), self.cfg.max_backoff_s + self.cfg.poll_s)
                cur.refused_at = now
                cur.first_failure_at = cur.first_failure_at or now
            if self.cfg.give_up_after_s and (
                error.refused or (not error.unreachable and cur.refused_s >= self.cfg.give_up_after_s)
            ):
                return cur.refused_s
            cur.failures += 1
            wait = min(self.cfg.max_backoff_s, self.cfg.initial_backoff_s * 2 ** (cur.failures - 1))
            cur.next_attempt_at = now + timedelta(seconds=wait)
            cur.last_error = str(error)[:2000]
            cur.updated_at = now
            failures = cur.failures
        metrics.DELIVERY_FAILURES.labels(sink.name).inc()
        log.warning("%s: delivery after event %d failed (%s); retry %d in %.1f s", sink.name, last_id, error,
                    failures, wait)  # fmt: skip
        return None

    @staticmethod
    def _cursor(s: Session, sink: Sink, read_from: FileId | None) -> EventCursor:
        """``sink``'s cursor, in the file its events were read from: :class:`LogMoved` where the
        log's file was deleted or replaced since (its ids are another file's events)."""
        cur = s.get(EventCursor, sink.name)
        if cur is None or opened_file(s) != read_from:
            raise LogMoved(
                f"{sink.name}: the alert log's file was deleted or replaced since its events were read"
            )
        return cur


def _connected_since(sink: Sink, failed_at: datetime) -> bool:
    connected_at: datetime | None = getattr(sink, "connected_at", None)  # sinks with a connection
    return connected_at is not None and connected_at > failed_at


class DeliveryLock:
    """At most one delivering notifier per database (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self._file: IO[bytes] | None = None
        self._conn: Any = None
        self._engine: Any = None

    def acquire(self) -> bool:
        if self.url.get_backend_name() == "sqlite":
            path = Path(str(self.url.database)).expanduser()
            f = open(path.with_name(path.name + ".notifier.lock"), "ab")  # noqa: SIM115 (held until release)
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                return False
            f.truncate(0)
            f.write(str(os.getpid()).encode())
            f.flush()
            self._file = f
            return True
        self._engine = create_engine(self.url, pool_size=1, max_overflow=0)
        conn = self._engine.connect()
        # Keyed by the schema too: alert logs of several sites may share one database, each in its
        # own schema (options=-csearch_path), and each needs its notifier.
        taken = text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))")
        if conn.execute(taken, {"k": _PG_NOTIFIER_LOCK}).scalar():
            conn.commit()
            self._conn = conn
            return True
        conn.close()
        self._engine.dispose()
        self._engine = None
        return False

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            self._conn.close()  # the advisory lock goes with the session
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
