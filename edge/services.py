"""The daemon's optional children besides frontends and the worker: the review server
(``serve:`` in edge.yaml) and the events notifier with retention (``events:``, ``store.retention``).
``haad run`` restarts them with back-off and never gives them up; a service started while the alert
log is down waits for it (back-off, one log line) instead of failing (:func:`store_when_reachable`).

Retention goes by the time elapsed since housekeeping started, never further than the wall clock: a
wall clock stepped forward (a bad NTP or GPS source, a clock set a year ahead) would otherwise make
every alert old at once and delete the log (:class:`RetentionClock`)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.context import SpawnProcess
from pathlib import Path

from bus.lifetime import die_with_parent, stop_on_signals
from config.edge import EdgeConfig
from config.redaction import redact_url
from edge.alert_outbox import first_line
from edge.store import AlertStore
from edge.store.engine import DEADLINES

log = logging.getLogger("haad.services")
_SPAWN = multiprocessing.get_context("spawn")


class ServiceProcess(SpawnProcess):
    """A child whose body runs until its stop event; ``stop(timeout)`` as the worker's."""

    def __init__(
        self, name: str, cfg: EdgeConfig, body: Callable[[EdgeConfig, threading.Event], None]
    ) -> None:
        super().__init__(name=name, daemon=False)
        self.cfg, self.body = cfg, body
        self.stop_event = _SPAWN.Event()

    def run(self) -> None:
        from bus.logs import setup_logging

        die_with_parent(signal.SIGTERM)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_on_signals(self.stop_event.set, signal.SIGTERM)
        setup_logging(self.cfg.logging.level, self.cfg.logging.format)
        stop = threading.Event()

        def relay() -> None:
            self.stop_event.wait()
            stop.set()

        threading.Thread(target=relay, daemon=True).start()
        try:
            self.body(self.cfg, stop)
        except Exception:
            # In the log (JSON too), not as a bare traceback on stderr; exit code 1: the daemon's
            # restart notice then need not repeat the ERROR (edge.daemon.Daemon._exited).
            log.exception("%s failed", self.name)
            sys.exit(1)
        finally:
            # Stopping: Python puts the default handler back as it exits, and a late SIGTERM of a
            # burst would kill the child there (exit -15, not 0); an ignored signal it leaves be.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def stop(self, timeout_s: float) -> int | None:
        self.stop_event.set()
        self.join(timeout_s)
        if self.is_alive():
            self.terminate()
            self.join(2.0)
        return self.exitcode


def store_when_reachable(cfg: EdgeConfig, stop: threading.Event, who: str) -> AlertStore | None:
    """The alert log once it answers, trying again with back-off (1 s doubling to 30 s); None when
    ``stop`` is set first."""
    wait, down_since = 1.0, None
    while not stop.is_set():
        try:
            with DEADLINES.within(cfg.store.busy_timeout_s + cfg.store.timeout_s):
                store = AlertStore(cfg.store)
        except Exception as e:  # noqa: BLE001 - an unreachable or hung server, a locked file
            if down_since is None:
                down_since = time.monotonic()
                log.error("%s waits for the alert log %s (%s)", who, redact_url(cfg.store.url), first_line(e))
            stop.wait(wait)
            wait = min(30.0, wait * 2)
            continue
        if down_since is not None:
            log.warning("%s: the alert log is back after %.0f s", who, time.monotonic() - down_since)
        return store
    return None


def run_serve(cfg: EdgeConfig, stop: threading.Event) -> None:
    from edge.review.server import ServeUnavailable, run_server

    assert cfg.serve is not None
    store = store_when_reachable(cfg, stop, "the review server")
    if store is not None:
        try:
            run_server(cfg, cfg.serve, stop, store=store)  # closes it
        except ServeUnavailable as e:  # taken since the daemon's start check: one line, then a restart
            log.error("%s", e)
            raise SystemExit(1) from None


# No wall clock haad runs under is right before this: one earlier was never set (a board without a
# battery-backed clock, before NTP answers).
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)


class RetentionClock:
    """The time retention goes by: the wall clock when housekeeping started plus the monotonic time
    elapsed since, or the wall clock where that is earlier (stepped back: retention keeps more). A
    jump ahead of the elapsed time is said once; retention catches up with it at the next start.

    A wall clock before :data:`CLOCK_FLOOR` at start was not set yet: its first jump ahead is the
    clock being set, and retention goes by it, else it would delete nothing until a restart. (A clock
    behind the newest alert is no such sign: a clock stepped back from a bad source's year ahead is
    too, and that source's next step ahead would delete every alert.)"""

    JUMP_S = 3600.0  # a step worth a warning (NTP slews drift by far less)

    def __init__(self) -> None:
        self.wall0, self.mono0 = datetime.now(UTC), time.monotonic()
        self.warned = False

    def now(self) -> datetime:
        wall = datetime.now(UTC)
        elapsed = self.wall0 + timedelta(seconds=time.monotonic() - self.mono0)
        ahead = (wall - elapsed).total_seconds()
        if ahead > self.JUMP_S and self.wall0 < CLOCK_FLOOR:
            log.warning("the wall clock, %s at start (not set yet), was set %.0f s ahead; retention goes by "
                        "it from now", self.wall0.isoformat(timespec="seconds"), ahead)  # fmt: skip
            self.wall0, self.mono0 = wall, time.monotonic()
            return wall
        if ahead > self.JUMP_S and not self.warned:
            self.warned = True
            log.warning("the wall clock jumped %.0f s ahead of the time elapsed since housekeeping started; "
                        "retention goes by the elapsed time, so the jump alone deletes no alert, until housekeeping "
                        "restarts (haad, or this service after a failure)", ahead)  # fmt: skip
        return min(wall, elapsed)


def run_housekeeping(cfg: EdgeConfig, stop: threading.Event) -> None:
    """The notifier (when sinks are configured), the feedback the alert log missed recorded every
    ``reload_every_s`` (:class:`edge.feedback.FeedbackSettler`), and retention every
    ``store.retention.every_s``."""
    from edge.events.notifier import Notifier, build_sinks
    from edge.feedback import FeedbackSettler
    from edge.profiles import ProfileStore
    from edge.snapshots import alerts_root, prune_snapshots, snapshot_modes
    from edge.store.retention import prune

    started = datetime.now(UTC)  # a sink new to the log gets the alerts written from then on
    store = store_when_reachable(cfg, stop, "housekeeping")
    if store is None:
        return
    clock = RetentionClock()
    with store:
        notifier, thread = None, None
        if cfg.events.enabled:
            notifier = Notifier(cfg.events, store, build_sinks(cfg.events, [s.id for s in cfg.streams]),
                                snapshot_streams=snapshot_modes(cfg), new_sinks_from=started)  # fmt: skip
            thread = threading.Thread(target=notifier.run, args=(stop,), name="notifier", daemon=True)
            thread.start()
        # Stopped once the retention loop below ends, by an event of its own: it shares no wait on
        # ``stop`` with that loop.
        settler_done = threading.Event()
        settler = FeedbackSettler(store, ProfileStore(Path(cfg.profiles_dir)))
        settling = threading.Thread(target=settler.run, args=(settler_done, cfg.reload_every_s), name="feedback-settler",
                                    daemon=True)  # fmt: skip
        settling.start()
        try:
            while not stop.is_set():
                try:
                    now = clock.now()
                    report = prune(store, cfg.store.retention, profiles_dir=Path(cfg.profiles_dir), now=now)
                    pictures = prune_snapshots(alerts_root(cfg), cfg.store.retention.windows_days,
                                               now.timestamp())  # fmt: skip
                    log.info("retention: %s; alert picture folders deleted: %d", report.to_dict(), pictures)
                except Exception:
                    log.exception("retention failed; trying again later")
                stop.wait(cfg.store.retention.every_s)
        finally:
            settler_done.set()
            settling.join(30.0)
            if thread is not None:
                thread.join(30.0)
            if notifier is not None:
                notifier.close()


def service_children(cfg: EdgeConfig) -> list[tuple[str, Callable[[], SpawnProcess]]]:
    """(name, factory) of each service child this config asks for."""
    out: list[tuple[str, Callable[[], SpawnProcess]]] = [
        ("housekeeping", lambda: ServiceProcess("haad-housekeeping", cfg, run_housekeeping))
    ]
    if cfg.serve is not None:
        out.append(("serve", lambda: ServiceProcess("haad-serve", cfg, run_serve)))
    return out
