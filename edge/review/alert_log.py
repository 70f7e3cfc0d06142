"""The review server's alert log, open from the start or, on a review host that boots before its
database, opened once it answers: a request meanwhile answers 503 "alert log unreachable" (the
routes' :data:`~edge.review.unreachable.LOG_UNREACHABLE` handling), and opening it then runs the
schema checks and upgrade an open runs (a schema newer than this haad is refused then)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import DisconnectionError

from config.redaction import redact_url
from config.store import StoreConfig
from edge.review.unreachable import LOG_UNREACHABLE, why_unreachable
from edge.store import AlertStore
from edge.store.engine import sqlite_file

log = logging.getLogger("haad.serve")

RETRY_S = 2.0  # between tries to open a log that does not answer: a refused connection costs little


class LogNotOpen(DisconnectionError):
    """The alert log has not answered since the review server started (503, logged once at start)."""


class LogRefused(Exception):
    """The alert log answered but cannot be served (a schema newer than this haad, a password file
    that cannot be read): the server stops with this one line."""


def open_if_answering(cfg: StoreConfig) -> tuple[AlertStore | None, str]:
    """The log opened, or None and why not where it does not answer yet: a PostgreSQL server that is
    down, unreachable or refusing the connection, a SQLite file the worker has not made yet (never
    made here: a reader's empty file would stand in for the worker's). Any other failure is raised."""
    path = sqlite_file(cfg.url)
    if path is not None and not path.is_file():
        return None, f"no file at {path.absolute()} yet (the worker makes it when it first starts)"
    try:
        return AlertStore(cfg), ""
    except LOG_UNREACHABLE as e:
        if path is not None:  # a file that exists and cannot be opened (permissions): no server to wait for
            raise
        return None, why_unreachable(e)


class ReviewLog:
    """The alert log the review server's routes read: :meth:`store` raises :class:`LogNotOpen`
    until :meth:`open_when_answering` has opened it."""

    def __init__(self, store: AlertStore | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()

    def store(self) -> AlertStore:
        store = self._store
        if store is None:
            raise LogNotOpen("the alert log has not answered since the review server started")
        return store

    def open_when_answering(
        self,
        cfg: StoreConfig,
        unanswered: str,
        stop: threading.Event,
        on_refused: Callable[[LogRefused], None],
    ) -> threading.Thread:
        """Try to open the log every :data:`RETRY_S` in a thread until it opens or ``stop`` is set;
        ``unanswered``: why it did not at start (logged there). One log line when it opens and when why it
        does not changes (not one per try), ``on_refused`` where it answered but cannot be served."""

        def run() -> None:
            said = unanswered
            while not stop.wait(RETRY_S):
                try:
                    store, why = open_if_answering(cfg)
                except Exception as e:  # noqa: BLE001 - any other failure: it answered, and cannot be served
                    on_refused(LogRefused(f"cannot open {redact_url(cfg.url)}: {why_unreachable(e)}"))
                    return
                if store is not None:
                    with self._lock:
                        if stop.is_set():  # the server stopped meanwhile: nobody would close it
                            store.close()
                            return
                        self._store = store
                    log.info("alert log %s answers: serving it", store.url)
                    return
                if why != said:
                    log.warning("alert log %s still does not answer: %s", redact_url(cfg.url), why)
                    said = why

        thread = threading.Thread(target=run, name="haad-serve-open-log", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
