"""The alert log: one row per abnormal-action episode (SQLite in WAL mode, or PostgreSQL), with the
episode's skeleton windows so it can be replayed, and a review status for triage."""

from edge.store.models import STATUSES, ReviewStatus
from edge.store.records import AlertRecord, NewAlert
from edge.store.store import AlertStore, ReviewedMeanwhile, open_store

__all__ = [
    "STATUSES",
    "AlertRecord",
    "AlertStore",
    "NewAlert",
    "ReviewStatus",
    "ReviewedMeanwhile",
    "open_store",
]
