"""Retention of the alert log (``store.retention``): what goes when.

In this order, each step in short transactions (at most ``BATCH`` alerts each):

1. windows: alerts that started more than ``windows_days`` ago lose their skeleton windows (the row,
   its scores and review stay): the blobs are >95 % of the database;
2. age: alerts that started more than ``max_age_days`` ago are deleted;
3. rows: beyond ``max_rows`` alerts, the oldest are deleted;
4. events: outbox events older than ``events_days`` that every sink has delivered are deleted.

Never touched: alerts still open, and alerts whose windows were added to a behaviour profile
("mark as normal") while a profile version that holds them exists (with no profile folder given,
every alert ever added to a profile is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.sql.expression import Executable

from config.store import RetentionConfig
from edge.store.models import Alert, ProfileFeedback
from edge.store.outbox import prune_events
from edge.store.store import AlertStore

# Rows per write transaction: the worker's alert writes wait for each one (SQLite's one write lock),
# so a months-long backlog goes in many short transactions, not one that outlasts busy_timeout_s.
BATCH = 500


@dataclass(frozen=True)
class PruneReport:
    windows_dropped: int
    deleted_by_age: int
    deleted_by_rows: int
    events_deleted: int
    protected: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def protected_alerts(store: AlertStore, profiles_dir: Path | None) -> set[int]:
    """Alerts a profile version on disk was built with (all ever added, without ``profiles_dir``)."""
    with store.reading() as s:
        rows = s.execute(
            select(ProfileFeedback.alert_id, ProfileFeedback.profile, ProfileFeedback.version).where(
                ProfileFeedback.action == "normal"
            )
        ).all()
    if profiles_dir is None:
        return {r.alert_id for r in rows}
    from edge.overlays import target_versions
    from edge.profiles import ProfileStore

    profiles = ProfileStore(profiles_dir)
    # A row names a profile, or a camera's overlay of one (profile@stream).
    versions = {name: set(target_versions(profiles, name)) for name in {r.profile for r in rows}}
    # The version that added an alert holds it, and so does every later one until an undo; keeping
    # it while any version from the one that added it on exists errs on the side of keeping.
    return {r.alert_id for r in rows if any(v >= r.version for v in versions.get(r.profile, ()))}


def _in_batches(store: AlertStore, ids: Select[int], change: Callable[[list[int]], Executable]) -> int:
    """Apply ``change`` to the alerts ``ids`` selects, at most BATCH per transaction, until it selects
    none (``change`` must take them out of it); how many."""
    total = 0
    while True:
        with store.writing() as s:
            batch = list(s.scalars(ids.limit(BATCH)))
            if batch:
                s.execute(change(batch))
        total += len(batch)
        if len(batch) < BATCH:
            return total


def prune(
    store: AlertStore,
    cfg: RetentionConfig,
    *,
    profiles_dir: Path | None = None,
    now: datetime | None = None,
) -> PruneReport:
    now = now or datetime.now(UTC)
    keep = protected_alerts(store, profiles_dir)
    closed = Alert.ended_at.is_not(None)
    not_kept = Alert.id.not_in(keep) if keep else Alert.id.is_not(None)
    dropped = by_age = by_rows = 0
    if cfg.windows_days > 0:
        cutoff = now - timedelta(days=cfg.windows_days)
        old = select(Alert.id).where(
            Alert.started_at < cutoff, Alert.windows_npz.is_not(None), closed, not_kept
        )
        dropped = _in_batches(
            store, old, lambda ids: update(Alert).where(Alert.id.in_(ids)).values(windows_npz=None)
        )
    if cfg.max_age_days > 0:
        cutoff = now - timedelta(days=cfg.max_age_days)
        old = select(Alert.id).where(Alert.started_at < cutoff, closed, not_kept)
        by_age = _in_batches(store, old, lambda ids: delete(Alert).where(Alert.id.in_(ids)))
    if cfg.max_rows > 0:
        with store.reading() as s:
            newest = select(Alert.id).order_by(Alert.started_at.desc(), Alert.id.desc()).limit(cfg.max_rows)
            kept_ids = set(s.scalars(newest))
            over = [i for i in s.scalars(select(Alert.id).where(closed, not_kept)) if i not in kept_ids]
        for start in range(0, len(over), BATCH):
            with store.writing() as s:
                s.execute(delete(Alert).where(Alert.id.in_(over[start : start + BATCH])))
        by_rows = len(over)
    with store.writing() as s:
        events = prune_events(s, now - timedelta(days=cfg.events_days))
    return PruneReport(dropped, by_age, by_rows, events, len(keep))
