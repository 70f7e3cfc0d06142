"""The alert log: add, update, query and review alerts. Every method is its own transaction, so one
store may be shared by threads, and several processes may share one database."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from types import EllipsisType, TracebackType
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker, undefer

from config.events import EventKind
from config.redaction import redact_url
from config.store import StoreConfig, normalise_db_url
from edge.store.engine import WRITE, check_in_place, make_engine, upgrade_to_head
from edge.store.models import Alert, StreamStatus
from edge.store.outbox import record_alert_events
from edge.store.records import (
    RECORD_FIELDS,
    AlertRecord,
    NewAlert,
    check_status,
    decode_timeline,
    decode_windows,
    encode_timeline,
    encode_windows,
    kept_indices,
    others_rows,
)


class _InsertedMeanwhile(Exception):
    """Another transaction inserted a row of an episode :meth:`AlertStore.write_alerts` was inserting."""


class ReviewedMeanwhile(Exception):
    """:meth:`AlertStore.set_status`: the alert no longer has the review its caller saw."""


class AlertStore:
    """An alert database, its schema brought to the newest version on opening.

    ``url`` is a SQLAlchemy URL (``sqlite:///alerts.db``, ``postgresql+psycopg://user@host/db``) or a
    :class:`~config.store.StoreConfig` carrying it with the pool settings and ``keep_windows``.
    """

    def __init__(self, url: str | StoreConfig, *, echo: bool = False) -> None:
        self.config = url if isinstance(url, StoreConfig) else StoreConfig(url=normalise_db_url(url))
        self._engine = make_engine(self.config, echo=echo)
        try:
            upgrade_to_head(self._engine)
        except BaseException:
            self._engine.dispose()
            raise
        self._read = sessionmaker(self._engine, expire_on_commit=False)
        self._write = sessionmaker(self._engine.execution_options(**WRITE), expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL, user and password hidden (for messages and logs)."""
        return redact_url(self._engine.url.render_as_string(hide_password=False))

    def write_alerts(self, alerts: Sequence[NewAlert]) -> list[int]:
        """Insert or replace each alert by its ``episode_key``, all in one transaction committed when
        this returns; the row ids, in order. Replacing keeps the review status and note, so writing
        an episode's state again (a replayed outbox, a resumed episode) never adds a row; an open
        state never replaces a closed one."""
        while True:
            try:
                return self._write_alerts_once(alerts)
            except _InsertedMeanwhile:  # committed by another writer meanwhile: the next look-up finds it
                continue

    def _write_alerts_once(self, alerts: Sequence[NewAlert]) -> list[int]:
        """:meth:`write_alerts`; :class:`_InsertedMeanwhile` (nothing written) where another
        transaction inserted a row of one of its new episodes after the look-up; :class:`LogMoved`
        where the SQLite file it committed to was not at its path any more once it had (deleted or
        replaced under it): written where nobody reads it, the caller must write them again."""
        now = datetime.now(UTC)
        # Decided in order, then written as three statements: the new rows (one insert), the
        # replaced rows (one executemany), their events. A row inserted here has no id until then,
        # so the changes name episodes by key.
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[str, dict[str, Any]]] = []  # (episode key, its new columns), in order
        changes: list[tuple[str, EventKind]] = []  # for the events outbox, same transaction
        with self._write.begin() as s:
            held = s.connection().info  # names the file this connection opened (check_in_place)
            # Each episode's row id and whether it is open (absent: not written yet), one query.
            # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): a
            # transaction writing one of these rows meanwhile is waited for and its row read as it
            # committed it, so an older open state never replaces the close it committed. Locked in
            # key order: two writers of the same episodes never wait on each other (a deadlock).
            keys = sorted({a.episode_key for a in alerts})
            known = (
                select(Alert.episode_key, Alert.id, Alert.ended_at.is_(None))
                .where(Alert.episode_key.in_(keys))
                .order_by(Alert.episode_key)
                .with_for_update()
            )
            id_of: dict[str, int] = {}
            open_now: dict[str, bool] = {}
            for key, alert_id, is_open in s.execute(known) if keys else ():
                id_of[key], open_now[key] = int(alert_id), bool(is_open)
            for a in alerts:
                key, was_open = a.episode_key, open_now.get(a.episode_key)
                if was_open is None:
                    inserts.append({**self._columns(a), "created_at": now, "status": "new", "note": ""})
                    changes.append((key, "open"))
                    if a.ended_at is not None:
                        changes.append((key, "close"))
                elif was_open or a.ended_at is not None:  # else stale: a closed episode stays closed
                    # (an older, open state of it: an outbox a full disk kept from being updated, replayed)
                    updates.append((key, self._columns(a)))
                    changes.append((key, "close" if was_open and a.ended_at is not None else "update"))
                open_now[key] = was_open is not False and a.ended_at is None
            if inserts:
                # A row no lock could cover: one another transaction inserted after the look-up
                # (PostgreSQL, READ COMMITTED) is skipped here, not refused, and the whole write
                # done again.
                query = _insert_new(s).returning(Alert.episode_key, Alert.id)
                id_of |= {key: int(i) for key, i in s.execute(query, inserts)}
                if len(id_of) < len(keys):
                    raise _InsertedMeanwhile
            if updates:  # by primary key: one executemany
                s.execute(update(Alert), [{"id": id_of[key], **columns} for key, columns in updates])
            record_alert_events(s, [(id_of[key], kind) for key, kind in changes])
        check_in_place(held)  # after the commit: a file deleted meanwhile is seen too
        return [id_of[a.episode_key] for a in alerts]

    def open_alerts(self, streams: Sequence[str]) -> list[AlertRecord]:
        """The alerts of ``streams`` still open (no end), oldest first, with their windows: what a
        worker that stopped without closing them left behind."""
        if not streams:
            return []
        query = (
            select(Alert)
            .options(undefer(Alert.windows_npz), undefer(Alert.timeline))
            .where(Alert.ended_at.is_(None), Alert.stream_id.in_(list(streams)))
            .order_by(Alert.started_at, Alert.id)
        )
        with self._read.begin() as s:
            return [_record_with_windows(row) for row in s.scalars(query)]

    def list_alerts(
        self,
        *,
        stream: str | None = None,
        profile: str | None = None,
        host: str | None = None,
        person: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        status: str | None = None,
        limit: int | None = 100,
    ) -> list[AlertRecord]:
        """Alerts that started in ``[since, until)`` and match the other filters, newest first, without
        their windows; ``limit=None`` for all of them."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1 (or None for no limit); got {limit}")
        query = (
            select(Alert)
            .where(
                *alert_filters(
                    stream=stream,
                    profile=profile,
                    host=host,
                    person=person,
                    since=since,
                    until=until,
                    status=status,
                )
            )
            .order_by(Alert.started_at.desc(), Alert.id.desc())
            .limit(limit)
        )
        with self._read.begin() as s:
            return [_record(row) for row in s.scalars(query)]

    def count(
        self,
        *,
        stream: str | None = None,
        profile: str | None = None,
        host: str | None = None,
        person: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        status: str | None = None,
    ) -> int:
        conditions = alert_filters(
            stream=stream, profile=profile, host=host, person=person, since=since, until=until, status=status
        )
        with self._read.begin() as s:
            return s.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0

    def get_alert(self, alert_id: int) -> AlertRecord:
        """One alert with its windows decoded; KeyError if there is none with that id."""
        with self._read.begin() as s:
            row = s.get(Alert, alert_id, options=[undefer(Alert.windows_npz), undefer(Alert.timeline)])
            if row is None:
                raise KeyError(f"no alert with id {alert_id}")
            return _record_with_windows(row)

    def set_status(
        self,
        alert_id: int,
        status: str,
        note: str | None = None,
        *,
        reviewer: str = "",
        if_status: str | None = None,
        if_reviewed_at: datetime | None | EllipsisType = ...,
        session: Session | None = None,
    ) -> None:
        """Triage an alert: ``new``, ``confirmed`` or ``dismissed``, with a note (replaces the old one;
        None keeps it) and who did it. KeyError without the alert. ``if_status`` / ``if_reviewed_at``
        (None: never reviewed): only while the alert still has that review, checked in the update
        itself, so a colleague's review between a page's read and its write is not overwritten;
        ReviewedMeanwhile otherwise. ``session``: a write transaction of :meth:`writing` to do it in,
        committed with what else it writes (edge/feedback.py: the row saying why), instead of its own."""
        check_status(status)
        values = {"status": status, "reviewed_at": datetime.now(UTC), "reviewed_by": reviewer}
        seen: list[ColumnElement[bool]] = []
        if if_status is not None:
            seen.append(Alert.status == if_status)
        if if_reviewed_at is None:
            seen.append(Alert.reviewed_at.is_(None))
        elif isinstance(if_reviewed_at, datetime):
            seen.append(Alert.reviewed_at == if_reviewed_at)
        with nullcontext(session) if session is not None else self._write.begin() as s:
            query = (
                update(Alert)
                .where(Alert.id == alert_id, *seen)
                .values(values if note is None else {**values, "note": note})
                .returning(Alert.id)
            )
            if s.scalar(query) is None:
                if seen and s.scalar(select(Alert.id).where(Alert.id == alert_id)) is not None:
                    raise ReviewedMeanwhile(f"alert {alert_id} was reviewed meanwhile")
                raise KeyError(f"no alert with id {alert_id}")
            record_alert_events(s, [(alert_id, "update")])

    def write_stream_status(
        self, rows: Sequence[StreamStatus], *, streams: Collection[str] | None = None
    ) -> None:
        """Upsert the live state of streams (edge.live_status) in one transaction. One statement, not
        a look-up then an insert: a row another writer inserted meanwhile (PostgreSQL, READ
        COMMITTED) is waited for and replaced, never refused on its key.

        The rows these outdate go in the same transaction, else the live view showed them stale for
        ever: a written stream's rows for another profile (each stream is written with every profile
        it is scored against), and, given ``streams`` (those the rows' host scores), that host's
        rows of any other stream (taken out of its edge.yaml). A stream sending nothing is not
        written, so its rows stay, read stale: its camera is out."""
        columns = [c.key for c in StreamStatus.__table__.columns]
        # The last state of each stream and profile (one statement may not update a row twice).
        latest = {(r.stream_id, r.profile): {c: getattr(r, c) for c in columns} for r in rows}
        if not latest:
            return
        profiles: dict[str, list[str]] = {}
        for stream, profile in latest:
            profiles.setdefault(stream, []).append(profile)
        with self._write.begin() as s:
            insert = _dialect(s).insert(StreamStatus)
            keys = [c.key for c in StreamStatus.__table__.primary_key]
            query = insert.on_conflict_do_update(
                index_elements=keys, set_={c: insert.excluded[c] for c in columns if c not in keys}
            )
            s.execute(query, list(latest.values()))
            for stream, names in profiles.items():
                s.execute(
                    delete(StreamStatus).where(
                        StreamStatus.stream_id == stream, StreamStatus.profile.not_in(names)
                    )
                )
            if streams is not None:
                hosts = {r.host for r in rows}
                s.execute(
                    delete(StreamStatus).where(
                        StreamStatus.host.in_(hosts), StreamStatus.stream_id.not_in({*streams, *profiles})
                    )
                )

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session in a read transaction (for modules that own other tables of the alert log)."""
        with self._read.begin() as s:
            yield s

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session in a write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit."""
        with self._write.begin() as s:
            yield s

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _columns(self, a: NewAlert) -> dict[str, Any]:
        keep = kept_indices(a, self.config.keep_windows)
        scores = None if a.window_scores is None else a.window_scores[keep]
        return {
            "episode_key": a.episode_key,
            "stream_id": a.stream_id,
            "profile": a.profile,
            "profile_version": int(a.profile_version),
            "started_at": a.started_at,
            "ended_at": a.ended_at,
            "peak_score": float(a.peak_score),
            "mean_score": float(a.mean_score),
            "threshold": float(a.threshold),
            "n_windows": int(a.n_windows),
            "model_version": a.model_version,
            "host": a.host,
            "n_kept": len(keep),
            "windows_npz": encode_windows(a.windows[keep], a.window_times[keep], scores),
            "timeline": encode_timeline(a.timeline),
            "person": int(a.person),
            "box": None if a.box is None else list(a.box),
            "others": others_rows(a.others) or None,
            "nearest": a.nearest,
        }


def open_store(url: str | StoreConfig, *, echo: bool = False) -> AlertStore:
    """Open (creating or upgrading the schema of) the alert database at ``url``."""
    return AlertStore(url, echo=echo)


def alert_filters(
    *,
    stream: str | None = None,
    profile: str | None = None,
    host: str | None = None,
    person: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
) -> list[ColumnElement[bool]]:
    """The conditions of an alert query (the store's lists and counts, the review server's pages):
    each filter given (None: any) must match; ``person`` is a track id within its stream (0: a
    one-person camera's)."""
    for name, t in (("since", since), ("until", until)):
        if t is not None and (t.tzinfo is None or t.utcoffset() is None):
            raise ValueError(f"{name} must be timezone-aware; got naive {t.isoformat()}")
    conditions: list[ColumnElement[bool]] = []
    if stream is not None:
        conditions.append(Alert.stream_id == stream)
    if profile is not None:
        conditions.append(Alert.profile == profile)
    if host is not None:
        conditions.append(Alert.host == host)
    if person is not None:
        conditions.append(Alert.person == person)
    if since is not None:
        conditions.append(Alert.started_at >= since)
    if until is not None:
        conditions.append(Alert.started_at < until)
    if status is not None:
        conditions.append(Alert.status == check_status(status))
    return conditions


def _insert_new(s: Session) -> postgresql.Insert | sqlite.Insert:
    """An insert of alert rows that skips an episode whose row exists (no unique-key error)."""
    return _dialect(s).insert(Alert).on_conflict_do_nothing(index_elements=[Alert.episode_key])


def _dialect(s: Session) -> Any:
    """The SQLAlchemy dialect module of ``s``'s database, for its INSERT ... ON CONFLICT."""
    return postgresql if s.get_bind().dialect.name == "postgresql" else sqlite


def _record(row: Alert, **arrays: Any) -> AlertRecord:
    return AlertRecord(**{name: getattr(row, name) for name in RECORD_FIELDS}, **arrays)


def _record_with_windows(row: Alert) -> AlertRecord:
    timeline = decode_timeline(row.timeline)
    if row.windows_npz is None:  # dropped by retention
        return _record(row, timeline=timeline)
    # alerts written before the timeline had its column (issue 24) keep it in the blob
    return _record(row, **{"timeline": timeline, **decode_windows(row.windows_npz)})
