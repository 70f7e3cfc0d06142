"""The alert log's tables. Schema changes go through a new migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, so a migration can drop or alter them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ReviewStatus = Literal["new", "confirmed", "dismissed"]
STATUSES: tuple[ReviewStatus, ...] = get_args(ReviewStatus)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime in, a UTC datetime out. SQLite has no time zones, so it stores naive
    UTC (which also keeps its text timestamps in sortable order); naive input is refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give it a time zone (e.g. UTC)")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MAX_ID = 2**31 - 1  # ids are SQL integers: a larger one given to PostgreSQL is an error, not "no row"
REVIEWER_LENGTH = 128  # PostgreSQL refuses a longer reviewer name
# a feedback target: a profile, or "profile@stream" (two names of up to 64 characters each)
FEEDBACK_TARGET_LENGTH = 160


class Alert(Base):
    """One abnormal-action episode of one person in one stream against one profile."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable for the episode's whole life (rewrites and a resuming worker find the row by it).
    episode_key: Mapped[str] = mapped_column(String(64), unique=True)
    stream_id: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str] = mapped_column(String(128))
    profile_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL while the episode is open
    peak_score: Mapped[float] = mapped_column(Double)
    mean_score: Mapped[float] = mapped_column(Double)
    threshold: Mapped[float] = mapped_column(Double)
    n_windows: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(128))
    n_kept: Mapped[int] = mapped_column(Integer)  # windows in windows_npz (<= n_windows)
    # npz of windows (K, F, J, 3) float32, window_times (K, 2) float64 and window_scores (K,) float64;
    # deferred so listing alerts never reads the blobs.
    # NULL once retention dropped the windows (store.retention.windows_days).
    windows_npz: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # (middle of a window, score) float64 pairs: the alert's timeline (edge.store.records.encode_timeline);
    # NULL for alerts written before it had this column (then it is in windows_npz, if anywhere).
    timeline: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), server_default="new")
    note: Mapped[str] = mapped_column(Text, server_default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str] = mapped_column(String(REVIEWER_LENGTH), server_default="")
    # The person track within the stream (0: a single-person frontend's one person); migration 0004.
    person: Mapped[int] = mapped_column(Integer, server_default="0")
    box: Mapped[list[float] | None] = mapped_column(JSON)  # [x0, y0, x1, y1] image fractions, or NULL
    # The daemon that raised it (config ``host``); "" for alerts logged before migration 0005.
    host: Mapped[str] = mapped_column(String(128), server_default="")
    # The other people in view at the peak, [[person, x0, y0, x1, y1], ...], or NULL.
    others: Mapped[list[list[float]] | None] = mapped_column(JSON)
    # The normal behaviour its peak window was nearest (a profile's or overlay's behaviour name);
    # NULL for alerts logged before migration 0010, or where the worker did not say.
    nearest: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        CheckConstraint("n_windows >= 1 AND n_kept >= 1", name="window_counts"),
        Index("ix_alerts_started_at", "started_at"),
        Index("ix_alerts_stream_id_started_at", "stream_id", "started_at"),
        Index("ix_alerts_profile_started_at", "profile", "started_at"),
        Index("ix_alerts_status", "status"),
        Index("ix_alerts_ended_at", "ended_at"),
        Index("ix_alerts_host_started_at", "host", "started_at"),
    )


# --- review, events out and live status (migration 0002) -------------------------------------------


class Event(Base):
    """The transactional outbox: one row per alert change (``open``, ``update``, ``close``), written
    in the transaction that changes the alert and delivered to every sink by the notifier
    (edge/events). ``payload`` is the JSON every sink is sent.

    ``id`` orders the events of one log (the sinks' cursors) and is never given out twice in it, also
    once retention deleted every event (SQLite AUTOINCREMENT, migration 0011: the next event took id
    1 again, below every cursor, and was never sent). Another log at its place, made afresh or a
    backup put back, gives out ids again: ``uid``, random, is unique across all of them, and what
    receivers drop duplicates by."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A UUID made when the event is written (on PostgreSQL also the column's default: migration 0011).
    uid: Mapped[str] = mapped_column(String(36))
    alert_id: Mapped[int] = mapped_column(Integer)
    stream_id: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('open', 'update', 'close')", name="kind"),
        Index("ix_events_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )


class EventCursor(Base):
    """How far one sink (``mqtt``, ``webhook:<name>``) got through the events, and its retry state."""

    __tablename__ = "event_cursors"

    sink: Mapped[str] = mapped_column(String(160), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)  # every event with id <= last_id is done
    delivered: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, server_default="0")  # in a row, on the next event
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the next event's first refusal
    # How long the sink has refused the next event, outages left out (give_up_after_s), and when it
    # last did with no outage since (None: the time till its next refusal does not count).
    refused_s: Mapped[float] = mapped_column(Double, server_default="0")
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProfileFeedback(Base):
    """An alert a reviewer marked normal: its windows were added to ``profile`` in ``version``
    (``action='normal'``), or that addition was rolled back by ``version`` (``action='undo'``)."""

    __tablename__ = "profile_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(FEEDBACK_TARGET_LENGTH))
    base_version: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(String(REVIEWER_LENGTH))
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("action IN ('normal', 'undo')", name="action"),
        Index("ix_profile_feedback_alert_id", "alert_id"),
        Index("ix_profile_feedback_profile_version", "profile", "version"),
    )


class StreamStatus(Base):
    """A stream's live state against one profile, written by the worker every few seconds."""

    __tablename__ = "stream_status"

    stream_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    profile: Mapped[str] = mapped_column(String(128), primary_key=True)
    profile_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(128))
    fps: Mapped[float] = mapped_column(Double)
    score: Mapped[float | None] = mapped_column(Double)  # the latest window's; NULL before the first
    threshold: Mapped[float] = mapped_column(Double)
    windows_scored: Mapped[int] = mapped_column(Integer)
    recent: Mapped[str] = mapped_column(Text)  # JSON [[t_end, score], ...] of the last minute
