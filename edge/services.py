"""The daemon's optional children besides frontends and the worker: the review server
(``serve:`` in edge.yaml) and the events notifier with retention (``events:``, ``store.retention``).
``haad run`` supervises them like the others (restart with back-off)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from pathlib import Path

from config.edge import EdgeConfig

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

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        setup_logging(self.cfg.logging.level, self.cfg.logging.format)
        stop = threading.Event()

        def relay() -> None:
            self.stop_event.wait()
            stop.set()

        threading.Thread(target=relay, daemon=True).start()
        self.body(self.cfg, stop)

    def stop(self, timeout_s: float) -> int | None:
        self.stop_event.set()
        self.join(timeout_s)
        if self.is_alive():
            self.terminate()
            self.join(2.0)
        return self.exitcode


def run_serve(cfg: EdgeConfig, stop: threading.Event) -> None:
    from edge.review.server import run_server

    assert cfg.serve is not None
    run_server(cfg, cfg.serve, stop)


def run_housekeeping(cfg: EdgeConfig, stop: threading.Event) -> None:
    """The notifier (when sinks are configured) and retention every ``store.retention.every_s``."""
    from edge.events.notifier import Notifier, build_sinks
    from edge.store import AlertStore
    from edge.store.retention import prune

    with AlertStore(cfg.store) as store:
        notifier, thread = None, None
        if cfg.events.enabled:
            notifier = Notifier(cfg.events, store, build_sinks(cfg.events, [s.id for s in cfg.streams]))
            thread = threading.Thread(target=notifier.run, args=(stop,), name="notifier", daemon=True)
            thread.start()
        try:
            while not stop.is_set():
                try:
                    report = prune(store, cfg.store.retention, profiles_dir=Path(cfg.profiles_dir))
                    log.info("retention: %s", report.to_dict())
                except Exception:
                    log.exception("retention failed; trying again later")
                stop.wait(cfg.store.retention.every_s)
        finally:
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
