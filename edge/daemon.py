"""``haad run``: the edge daemon. One orchestrator, a frontend process per stream, one worker.

Lifecycle (``Daemon.run``): check the deployment (edge.checks; refuse to start on a missing
profile or file) -> set up metrics -> start the worker -> start the frontends -> supervise until
SIGINT/SIGTERM or until every finite source (a video file, a replay) has ended or been given up ->
stop the frontends (each delivers what it queued) -> let the worker drain the bus, close open
episodes and hand them to the alert writer -> stop the worker. A child that dies with an error is
restarted after a back-off that doubles per crash and resets once the child has run
``stable_after_s``; one that fails ``give_up_after`` times within ``give_up_window_s`` is given up,
and the daemon then exits with code 1 (the worker given up stops everything); the services (review
server, housekeeping) are never given up: they come back when what they wait for (the database, a
port) does.

Only one daemon runs on a ``state_dir`` (an exclusive lock; a second one refuses to start), and its
children die with it: a daemon killed with SIGKILL takes its worker and frontends along (SIGKILL:
open episodes stay open in the outbox for the next worker to continue) and stops its services
(SIGTERM), so a restarted daemon never runs beside orphans (bus.lifetime).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType
from typing import Any

from bus.lifetime import Restarts, die_with_parent, stop_on_signals
from bus.logs import setup_logging
from bus.messages import DROP_REASONS
from config.edge import EdgeConfig
from config.frontend import StreamConfig, UrlSourceConfig, WebcamSourceConfig, pack_streams
from config.redaction import redact_url
from edge.snapshots import make_pictures_private, ring_root, snapshot_modes
from edge.state_lock import StateLocked, hold_lock, outbox_path, state_dir

log = logging.getLogger("haad.daemon")
_SPAWN = multiprocessing.get_context("spawn")
POLL_S = 0.2
WORKER_START_TIMEOUT_S = 120.0
# How often the frames the worker received are read (every worker process's metrics file) for the
# streams sent from other hosts: /health names one out to within this.
RECEIVED_EVERY_S = 1.0


def _iso(wall: float) -> str:
    """A wall-clock time as /health says it (UTC, to the second)."""
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds")


class WorkerProcess(SpawnProcess):
    """The worker in its own process; ``stop_event`` asks it to flush and exit."""

    def __init__(self, cfg: EdgeConfig, *, people_since: float | None = None) -> None:
        super().__init__(name="haad-worker", daemon=False)
        self.cfg = cfg
        self.people_since = people_since  # edge.worker.run_worker
        self.stop_event = _SPAWN.Event()
        self.ready_event = _SPAWN.Event()  # set once it listens on the bus
        self.reports = _SPAWN.SimpleQueue()  # the worker's report of what it scored, at its end
        self.report: dict[str, Any] | None = None  # read from ``reports`` while stopping

    def run(self) -> None:
        die_with_parent(signal.SIGKILL)  # its open episodes stay open for the next worker
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        stop_on_signals(self.stop_event.set, signal.SIGTERM)
        setup_logging(self.cfg.logging.level, self.cfg.logging.format)
        from edge.worker import run_worker  # imports torch/onnxruntime in the child only

        try:
            run_worker(self.cfg, self.stop_event, ready=self.ready_event, report=self.reports.put,
                       people_since=self.people_since)  # fmt: skip
        except Exception:
            # In the log (JSON too), not as a bare traceback on stderr; exit code 1: the daemon's
            # restart notice then need not repeat the ERROR (Daemon._exited).
            log.exception("worker failed")
            sys.exit(1)

    def stop(self, timeout_s: float) -> int | None:
        """Ask the worker to flush and exit; keeps its report (read while waiting, so a large
        report never blocks the worker on a full pipe)."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout_s
        while self.is_alive() and time.monotonic() < deadline:
            self._take_report()
            self.join(POLL_S)
        self._take_report()
        if self.is_alive():
            log.error("worker did not stop within %.0f s; terminating it", timeout_s)
            self.terminate()
            self.join(2.0)
        return self.exitcode

    def _take_report(self) -> None:
        while not self.reports.empty():
            self.report = self.reports.get()


def frontend_counts(process: SpawnProcess | None) -> dict[str, dict[str, int]]:
    """What a frontend process counted (pose_frontend.base.Counters), per stream id; in a process of
    several also ``restarts``, how often each camera was restarted inside it."""
    from pose_frontend.group import FrontendGroupProcess
    from pose_frontend.process import FrontendProcess

    if isinstance(process, FrontendGroupProcess):
        return {stream: {**counters.snapshot(), "restarts": process.restarts[stream].value}
                for stream, counters in process.counters.items()}  # fmt: skip
    if isinstance(process, FrontendProcess):
        return {process.config.id: process.counters.snapshot()}
    return {}


@dataclass
class Child:
    """A supervised child: how to make it, the running process, and its restart bookkeeping."""

    name: str
    make: Callable[[], SpawnProcess]
    restarts: Restarts
    process: SpawnProcess | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    finished: bool = False  # ended on its own with exit code 0 (a finite source ran out)
    finished_at: float = 0.0  # when it was seen to have finished (wall clock)
    given_up: bool = False  # failed too often too fast: it will not work without a fix
    streams: list[str] = field(default_factory=list)  # a frontend's stream ids
    # A frontend's counters over every process it ran (a restarted one counts from 0 again), keyed
    # "<counter>", or "<stream>.<counter>" in a process of several; ``counted_before``: those of the
    # processes before the running one.
    seen_counters: dict[str, int] = field(default_factory=dict)
    counted_before: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.finished or self.given_up


class Daemon:
    def __init__(self, cfg: EdgeConfig) -> None:
        self.cfg = cfg
        self.stopping = False
        # This daemon's frontends give person ids from 1 again: a tracked person's episode a
        # previous daemon left open is someone else's id now (a frontend it restarts goes on: Progress).
        people_since = time.time() if cfg.run_frontends else None
        self.worker = Child(
            "worker", lambda: WorkerProcess(cfg, people_since=people_since), Restarts(cfg.supervisor)
        )
        self.frontends: list[Child] = []
        from pose_frontend.base import Progress

        # Outlives each frontend process: a restarted one continues a recording where it was.
        progress = {s.id: Progress.shared() for s in cfg.streams}
        if cfg.run_frontends and cfg.cameras_per_frontend > 1:
            from pose_frontend.group import FrontendGroupProcess

            def make_group(streams: list[StreamConfig]) -> Callable[[], SpawnProcess]:
                return lambda: FrontendGroupProcess(
                    streams, cfg.bus, cfg.supervisor, pose_threads=cfg.pose_threads,
                    log_level=cfg.logging.level, log_format=cfg.logging.format, snapshot_dir=ring_root(cfg),
                    progress=progress,
                )  # fmt: skip

            self.frontends = [
                Child(
                    "frontend-" + "+".join(s.id for s in g),
                    make_group(g),
                    Restarts(cfg.supervisor),
                    streams=[s.id for s in g],
                )
                for g in pack_streams(cfg.streams, cfg.cameras_per_frontend)
            ]
        elif cfg.run_frontends:
            from pose_frontend.process import FrontendProcess

            def make(stream: StreamConfig) -> Callable[[], SpawnProcess]:
                return lambda: FrontendProcess(
                    stream, cfg.bus, log_level=cfg.logging.level, log_format=cfg.logging.format,
                    snapshot_dir=ring_root(cfg), progress=progress[stream.id],
                )  # fmt: skip

            self.frontends = [
                Child(f"frontend-{s.id}", make(s), Restarts(cfg.supervisor), streams=[s.id])
                for s in cfg.streams
            ]
        from edge.services import service_children  # review server, events notifier, retention

        self.services = [
            Child(name, make_service, Restarts(cfg.supervisor))
            for name, make_service in service_children(cfg)
        ]
        self.grouped = cfg.run_frontends and cfg.cameras_per_frontend > 1
        # per stream: the frames it delivered (over its restarts) and when that last changed
        self.frames_at: dict[str, tuple[int, float]] = {}
        # The streams whose frontends run elsewhere (run_frontends: false), sending over the bus: per
        # stream the frames the worker received and when that last changed (``_count_received``),
        # from ``receiving_since``, when the worker listened and this daemon began to supervise.
        local = {stream for child in self.frontends for stream in child.streams}
        self.remote_streams = [s.id for s in cfg.streams if s.id not in local]
        self.received_at: dict[str, tuple[float, float]] = {}
        # per remote stream: the times its frontend said its recording ended, and when that last changed
        self.ended_at: dict[str, tuple[float, float]] = {}
        self.receiving_since: float | None = None
        self._received_read_at = float("-inf")
        self._metrics_dir: Path | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    def run(self) -> int:
        """Run until a signal or until every source ended or was given up; returns the exit code: 0,
        1 when a child was given up, 2 when the deployment cannot start (edge.checks)."""
        from edge.checks import check_bus_endpoint, deployment_checks

        problems, warnings = deployment_checks(self.cfg)
        for problem in problems:
            log.error("cannot start: %s", problem)
        if problems:
            return 2
        for warning in warnings:
            log.warning("%s", warning)
        try:
            lock = hold_lock(state_dir(self.cfg) / "haad.lock", what="another haad daemon")
        except StateLocked as e:
            log.error("cannot start: %s; stop it first, or give this one its own state_dir", e)
            return 2
        except OSError as e:
            log.error("cannot start: cannot lock the state folder %s: %s", state_dir(self.cfg), e)
            return 2
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            # OSErrors: edge.checks.BusUnavailable, edge.metrics.MetricsUnavailable (imported first, it
            # would set prometheus up)
            try:
                check_bus_endpoint(self.cfg.bus)
                self._check_serve_port()
                self._start_metrics()
            except OSError as e:
                log.error("cannot start: %s", e)  # nothing else was started
                return 2
            if snapshot_modes(self.cfg):
                try:
                    make_pictures_private(self.cfg)
                except OSError as e:  # a folder of someone else's: the pictures still work
                    log.warning("snapshots: cannot make the pictures' folder private: %s", e)
            if not self.stopping:  # a signal while checking: nothing was started, so nothing to stop
                self._start(self.worker)
                self._wait_for_worker()
            if self.stopping:  # cameras started now would be stopped at once, the worker gone
                log.info("stopped during startup; no camera was started")
                return 0
            for child in [*self.services, *self.frontends]:
                self._start(child)
            self.receiving_since = time.monotonic()
            log.info(
                "haad running: %d stream(s), store %s", len(self.cfg.streams), redact_url(self.cfg.store.url)
            )
            while not self.stopping and not self.worker.given_up:
                self._supervise()
                if self.frontends and all(c.done for c in self.frontends):
                    log.info("every source ended or was given up; finishing")
                    break
                time.sleep(POLL_S)
            given_up = self._given_up()
            if given_up:
                log.error("given up: %s", ", ".join(given_up))
            return 1 if given_up else 0
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
            lock.close()

    def _check_serve_port(self) -> None:
        """Raise edge.review.server.ServeUnavailable (an OSError) where the review server could not
        listen: its child would fail and be restarted in a loop."""
        if self.cfg.serve is not None:
            from edge.review.server import listen

            listen(self.cfg.serve).close()

    def _given_up(self) -> list[str]:
        children = [c.name for c in (self.worker, *self.services, *self.frontends) if c.given_up]
        if not self.grouped:
            return children
        from pose_frontend.group import FrontendGroupProcess

        # a camera given up inside a process of several (pose_frontend.group), which goes on
        cameras = [f"frontend-{stream}" for c in self.frontends if isinstance(c.process, FrontendGroupProcess)
                   for stream, event in c.process.given_up.items() if event.is_set()]  # fmt: skip
        return children + cameras

    def _down(self) -> list[str]:
        """The children that exited and wait to be restarted (not those never started yet)."""
        children = (self.worker, *self.services, *self.frontends)
        return [c.name for c in children if not c.done and c.process is not None and not c.process.is_alive()]

    def _streams_out(self) -> dict[str, str]:
        """Per stream whose frontend runs on without delivering, why: no frame since it started, or
        (a live source: a file that stops has ended) none for ``metrics.stream_out_after_s``. Its process lives and
        retries, so it is neither down nor given up, yet the camera is out (unplugged, a wrong
        address, a network outage)."""
        given_up, now = set(self._given_up()), time.monotonic()
        out_after_s = self.cfg.metrics.stream_out_after_s
        live = {s.id for s in self.cfg.streams if isinstance(s.source, (WebcamSourceConfig, UrlSourceConfig))}
        out = {}
        for child in self.frontends:
            for stream in child.streams:
                delivered, since = self.frames_at.get(stream, (0, now))
                if child.done or f"frontend-{stream}" in given_up or now - since < out_after_s:
                    continue
                if delivered and stream not in live:
                    continue
                prefix = f"{stream}." if self.grouped else ""
                tries = {k: child.seen_counters.get(prefix + k, 0) for k in ("failed_opens", "reconnects")}
                what = (
                    f"no frame for {now - since:.0f} s"
                    if delivered
                    else f"no frame since it started {now - since:.0f} s ago"
                )
                out[stream] = (
                    f"{what} ({tries['failed_opens']} failed opens, {tries['reconnects']} reconnects)"
                )
        return out | self._remote_streams_out(now)

    def _remote_streams_out(self, now: float) -> dict[str, str]:
        """Per stream sent from another host, why it is out: the worker received no frame from it
        for ``stream_out_after_s``, or none since it began to listen. Its frontend there (stopped,
        its host down, its link cut, its key refused) is nobody's child here: only the frames
        received tell. A remote recording whose frontend said it ended after its last frame is not
        (:meth:`_streams_ended`)."""
        if self.receiving_since is None:
            return {}
        out = {}
        for stream in self.remote_streams:
            received, since = self.received_at.get(stream, (0.0, self.receiving_since))
            if now - since < self.cfg.metrics.stream_out_after_s or self._remote_ended(stream):
                continue
            at = _iso(time.time() - (now - since))
            out[stream] = (
                f"no frame received for {now - since:.0f} s (since {at}; its frontend is on another host)"
                if received
                else f"no frame received since the worker started {now - since:.0f} s ago ({at})"
            )
        return out

    def _remote_ended(self, stream: str) -> bool:
        """Whether a remote stream's frontend said its recording ended, and sent no frame since (the
        worker counts the end after the last frame, at its next housekeeping)."""
        ended = self.ended_at.get(stream)
        return ended is not None and ended[1] >= self.received_at.get(stream, (0.0, float("-inf")))[1]

    def _streams_ended(self) -> dict[str, str]:
        """Per stream whose recording ended, when: its frontend here finished (its file ran out), or,
        sent from another host, its frontend said so (pose_frontend.process.say_ended) and nothing
        came since. /health names them apart from the streams out: they did what they should."""
        now, wall = time.monotonic(), time.time()
        given_up = set(self._given_up())
        ended = {
            stream: f"its recording ended; its frontend finished at {_iso(child.finished_at)}"
            for child in self.frontends
            if child.finished
            for stream in child.streams
            if f"frontend-{stream}" not in given_up
        }
        for stream in self.remote_streams:
            if self._remote_ended(stream):
                last = self.received_at.get(stream, self.ended_at[stream])[1]
                ended[stream] = (
                    f"its recording ended after its last frame, received at {_iso(wall - (now - last))} "
                    "(its frontend on another host said so)"
                )
        return ended

    def _count_received(self, now: float) -> None:
        """Note when the frames the worker received from each remote stream, and the ends of its
        recordings their frontends said, last increased."""
        if not self.remote_streams or now - self._received_read_at < RECEIVED_EVERY_S:
            return
        from edge.metrics import frames_received

        self._received_read_at = now
        counts, ends = frames_received()
        for stream in self.remote_streams:
            received, ended = counts.get(stream, 0.0), ends.get(stream, 0.0)
            if received and self.received_at.get(stream, (0.0, 0.0))[0] != received:
                self.received_at[stream] = (received, now)
            if ended and self.ended_at.get(stream, (0.0, 0.0))[0] != ended:
                self.ended_at[stream] = (ended, now)

    def _outbox_set_aside(self) -> list[str]:
        """The files beside the alert outbox that hold alert states it lacks (edge.alert_outbox)."""
        from edge.alert_outbox import awaiting_recovery  # the alert store's imports: not at every start

        try:
            return [str(p) for p in awaiting_recovery(outbox_path(self.cfg))]
        except OSError:  # a state folder that cannot be listed: the worker cannot open the outbox, says so
            return []

    @property
    def worker_report(self) -> dict[str, Any] | None:
        """What the worker scored, per stream (``edge.pipeline.Pipeline.report``), once it stopped."""
        process = self.worker.process
        return process.report if isinstance(process, WorkerProcess) else None

    def stop(self) -> None:
        """Frontends stop taking frames; the worker reads what they queued (they hold their sockets
        open meanwhile), closes every episode and hands it to the alert writer; then the frontends
        close and exit."""
        t = self.cfg.supervisor.stop_timeout_s
        running = [c.process for c in self.frontends if c.process is not None and c.process.is_alive()]
        for p in running:
            p.stop_event.set()  # type: ignore[attr-defined]
        deadline = time.monotonic() + t
        for p in running:
            while not p.finished_event.wait(POLL_S) and p.is_alive() and time.monotonic() < deadline:  # type: ignore[attr-defined]
                pass
        if self.worker.process is not None and self.worker.process.is_alive():
            code = self.worker.process.stop(max(t, 30.0))  # type: ignore[attr-defined]
            if code not in (0, None):
                log.error("worker exited with code %s while stopping", code)
        for child in self.frontends:
            if child.process is not None and child.process.is_alive():
                child.process.stop(t)  # type: ignore[attr-defined]
            self._export_frontend_counters(child)
            if child.seen_counters:
                log.info("%s: %s", child.name, child.seen_counters, extra={"counters": child.seen_counters})
        for child in self.services:  # after the worker: its last alert events still go out
            if child.process is not None and child.process.is_alive():
                child.process.stop(t)  # type: ignore[attr-defined]
        if self._metrics_dir is not None:
            shutil.rmtree(self._metrics_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                self._metrics_marker.unlink(missing_ok=True)

    def _wait_for_worker(self) -> None:
        """Frames published before the worker listens are lost: give it time to load the model."""
        worker = self.worker.process
        assert isinstance(worker, WorkerProcess)
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while not worker.ready_event.wait(POLL_S) and not self.stopping:
            if not worker.is_alive() or time.monotonic() > deadline:
                log.error("worker not ready (alive: %s); starting the frontends anyway", worker.is_alive())
                return

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stopping = True

    # --- supervision -------------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        # Not child.process until started: /health, read from another thread meanwhile, would name a
        # child made but not yet alive as down (failing, for the worker) while it spawns.
        if child.streams and child.process is not None:  # a frontend's next process counts from 0
            self._export_frontend_counters(child)  # what the last one counted since the last export
            child.counted_before = dict(child.seen_counters)
        process = child.make()
        process.start()
        child.process = process
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def _supervise(self) -> None:
        now = time.monotonic()
        self._count_received(now)
        for child in [self.worker, *self.services, *self.frontends]:
            p = child.process
            if child.streams:
                self._export_frontend_counters(child)
            if child.done or p is None:
                continue
            if getattr(p, "finished_event", None) is not None and p.finished_event.is_set():  # type: ignore[attr-defined]
                # its source ended; it holds its queue open until the worker drained it
                child.finished, child.finished_at = True, time.time()
                log.info("%s finished (its source ended)", child.name)
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._start(child)
                continue
            if p.is_alive():
                child.restarts.running(child.started_at, now)
                continue
            self._exited(child, now)

    def _exited(self, child: Child, now: float) -> None:
        from edge import metrics

        p = child.process
        assert p is not None
        if p.pid is not None:
            metrics.process_exited(p.pid)
        if child in self.frontends and p.exitcode == 0:
            child.finished, child.finished_at = True, time.time()
            log.info("%s finished (its source ended)", child.name)
            return
        wait = child.restarts.failed(now, may_give_up=child not in self.services)
        if wait is None:
            child.given_up = True
            log.error("%s failed %d times within %.0f s (last exit code %s); giving it up", child.name,
                      len(child.restarts.failures), self.cfg.supervisor.give_up_window_s, p.exitcode)  # fmt: skip
            return
        child.restart_at = now + wait
        metrics.CHILD_RESTARTS.labels(child.name).inc()
        # Exit code 1: the child logged why as an ERROR (a frontend's "stream stopped", a service's or
        # the worker's exception); one ERROR per failure. Another code (a signal, a crash in native
        # code) it could not: this line is the only one.
        level = logging.WARNING if p.exitcode == 1 else logging.ERROR
        log.log(level, "%s exited with code %s; restarting in %.1f s", child.name, p.exitcode, wait)

    def _export_frontend_counters(self, child: Child) -> None:
        """A frontend's counters live in shared memory its process writes; publish their increase
        since the last export as metrics, adding the counts of the child's earlier processes."""
        from edge import metrics

        now = time.monotonic()
        for stream, counts in frontend_counts(child.process).items():
            prefix = f"{stream}." if self.grouped else ""
            series = {key: metrics.FRONTEND_FRAMES.labels(stream, result)
                      for key, result in metrics.FRONTEND_RESULTS.items()}  # fmt: skip
            series |= {"reconnects": metrics.FRONTEND_RECONNECTS.labels(stream),
                       "failed_opens": metrics.FRONTEND_FAILED_OPENS.labels(stream),
                       "refused": metrics.FRONTEND_PEOPLE_REFUSED.labels(stream),
                       "snapshot_failed": metrics.DROPS.labels("snapshot_failed"),  # pictures only
                       # a camera restarted inside a process of several, which itself runs on: named
                       # as /health names that camera given up there
                       "restarts": metrics.CHILD_RESTARTS.labels(f"frontend-{stream}")}  # fmt: skip
            totals = {prefix + k: child.counted_before.get(prefix + k, 0) + v for k, v in counts.items()}
            for key, counter in series.items():
                delta = totals.get(prefix + key, 0) - child.seen_counters.get(prefix + key, 0)
                if delta > 0:
                    counter.inc(delta)
            child.seen_counters.update(totals)
            # below_rate: frames the source delivered between two pose estimates (pose_fps)
            delivered = totals[prefix + "frames"] + totals[prefix + "below_rate"]
            if self.frames_at.get(stream, (-1, 0.0))[0] != delivered:
                self.frames_at[stream] = (delivered, now)

    # --- metrics -----------------------------------------------------------------------------------

    @property
    def _metrics_marker(self) -> Path:
        """Names this state_dir's metrics folder while its daemon runs."""
        return state_dir(self.cfg) / "metrics-dir"

    def _remove_stale_metrics_dir(self) -> None:
        """The metrics folder of this state_dir's previous daemon, killed before it could remove it
        (SIGKILL, a power cut with a disk /tmp): each restart would leave one more. Its lock is ours
        now, so nobody uses it; only a folder of ours by that name in the temp folder is removed."""
        try:
            stale = Path(self._metrics_marker.read_text().strip())
            ours = stale.lstat().st_uid == os.getuid() and stale.is_dir() and not stale.is_symlink()
        except (OSError, ValueError):
            return
        if ours and stale.parent == Path(tempfile.gettempdir()) and stale.name.startswith("haad-metrics-"):
            shutil.rmtree(stale, ignore_errors=True)

    def _start_metrics(self) -> None:
        # prometheus_client chooses its storage on first import: the folder must be set before.
        self._remove_stale_metrics_dir()
        self._metrics_dir = Path(tempfile.mkdtemp(prefix="haad-metrics-"))
        try:
            self._metrics_marker.write_text(str(self._metrics_dir))
        except OSError:  # a full disk: a daemon killed now leaves its folder, as before
            pass
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(self._metrics_dir)
        from edge import metrics

        for child in [self.worker, *self.frontends, *self.services]:
            metrics.CHILD_RESTARTS.labels(child.name)  # each series at 0 from the start
        for s in self.cfg.streams if self.grouped else []:  # and each camera of a process of several
            metrics.CHILD_RESTARTS.labels(f"frontend-{s.id}")
        for s in self.cfg.streams:  # a camera that never sends a frame shows 0 fps, not no data
            metrics.FRAMES_RECEIVED.labels(s.id)
            metrics.STREAM_FPS.labels(s.id).set(0)
        for reason in DROP_REASONS:  # the bus's reasons: a known list
            metrics.DROPS.labels(reason)
        # by stream id, as exported: a process of several cameras is not a stream of its own
        for stream in [s.id for s in self.cfg.streams] if self.frontends else []:
            metrics.FRONTEND_RECONNECTS.labels(stream)
            metrics.FRONTEND_FAILED_OPENS.labels(stream)
            metrics.FRONTEND_PEOPLE_REFUSED.labels(stream)
            for result in metrics.FRONTEND_RESULTS.values():
                metrics.FRONTEND_FRAMES.labels(stream, result)
        if self.cfg.metrics.enabled:
            metrics.serve(
                self.cfg.metrics.host,
                self.cfg.metrics.port,
                given_up=self._given_up,
                down=self._down,
                set_aside=self._outbox_set_aside,
                streams_out=self._streams_out,
                streams_ended=self._streams_ended,
            )
            log.info(
                "metrics on http://%s/metrics",
                metrics.host_port(self.cfg.metrics.host, self.cfg.metrics.port),
            )
