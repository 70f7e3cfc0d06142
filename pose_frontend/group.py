"""Several cameras in one frontend process (``cameras_per_frontend`` > 1 in edge.yaml or a frontend
host's file).

One process per camera costs about 300 MB each (Python, OpenCV, MediaPipe and its models loaded
again). A :class:`FrontendGroupProcess` runs its cameras as threads instead: each camera keeps its
own source and tracking state, at most ``pose_threads`` pose estimates run at once (MediaPipe has no
batching; its maintainers suggest graphs side by side, google-ai-edge/mediapipe #1667), the legacy
estimator's models are shared (:class:`~pose_frontend.shared_pose.PoseModelPool`: ``pose_threads``
landmark graphs and a person detector for every two of them, for all the cameras; Tasks and several-people estimators
keep a graph per camera), and one thread owns the process's one bus socket, fed through a
bounded queue (a zmq socket belongs to one thread). A camera that fails is restarted inside the
process with the supervisor's back-off and given up after ``give_up_after`` failures within
``give_up_window_s``; the other cameras never stop for it.

It offers the daemon what :class:`~pose_frontend.process.FrontendProcess` does: ``stop_event``,
``finished_event`` (every camera ended), ``release_event``, ``stop()``, and ``counters``, here one
:class:`~pose_frontend.base.Counters` per stream id, ``given_up``, an event per stream id set when
that camera was given up, and ``restarts``, per stream id how often that camera was restarted inside
the process (``.value``): the daemon restarts, and counts, only a process that exits. Exit code 0
once every camera ended or was given up: a camera given up inside a group is an ERROR line and stops
publishing; the daemon reads ``given_up`` and names it ``frontend-<id>`` in ``/health`` and its exit
code, as it does a given-up single-camera process.
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import queue
import signal
import sys
import threading
import time
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Protocol

import zmq

from bus.lifetime import Restarts, die_with_parent
from bus.logs import setup_logging
from bus.messages import SkeletonFrame
from bus.pubsub import Publisher
from config.bus import BusConfig
from config.frontend import StreamConfig
from config.supervisor import SupervisorConfig
from pose_frontend.base import Counters, Progress, SourceError, StopFlag
from pose_frontend.estimator import EstimatorError
from pose_frontend.process import FrameErrorLimit, run_stream, say_ended
from pose_frontend.shared_pose import PoseModelPool

log = logging.getLogger(__name__)
_QUEUE_FRAMES = 256  # frames between the cameras and the socket's thread
_POLL_S = 0.2
_SPAWN = multiprocessing.get_context("spawn")


class Count(Protocol):
    """A shared integer (``multiprocessing.RawValue("q")``), written by one thread."""

    value: int


class QueuePublisher:
    """The cameras' side of the shared socket: frames go into a bounded queue. Without ``wait`` a full
    queue drops the frame (False: a live camera's frame is stale by then); with it, the camera waits."""

    def __init__(self, frames: queue.Queue[SkeletonFrame]) -> None:
        self.frames = frames

    def publish(self, frame: SkeletonFrame, *, wait: StopFlag | None = None) -> bool:
        while True:
            try:
                self.frames.put(frame, timeout=_POLL_S if wait is not None else None, block=wait is not None)
                return True
            except queue.Full:
                if wait is None or wait.is_set():
                    return False


def run_camera(
    config: StreamConfig,
    publisher: QueuePublisher,
    stop: StopFlag,
    counters: Counters,
    pose_slots: threading.Semaphore,
    supervisor: SupervisorConfig,
    snapshot_dir: Path | None = None,
    pose_models: PoseModelPool | None = None,
    progress: Progress | None = None,
    restarted: Count | None = None,
) -> bool:
    """One camera until its source ends (True) or ``stop``; restarted after a failure with back-off
    (each restart counted in ``restarted``), given up (False) after too many failures too fast.
    ``snapshot_dir``, ``progress``: as :func:`run_stream`'s (a restarted recording continues where it
    was)."""
    progress = progress if progress is not None else Progress()
    restarts = Restarts(supervisor)
    while not stop.is_set():
        started = time.monotonic()
        try:
            run_stream(config, publisher, stop, counters=counters, pose_slots=pose_slots,
                       snapshot_dir=snapshot_dir, pose_models=pose_models, progress=progress)  # fmt: skip
            return True
        except (SourceError, EstimatorError, FrameErrorLimit) as e:
            log.error("stream %s stopped: %s", config.id, e)
        except Exception as e:  # noqa: BLE001 - one camera's bug must not end the others
            log.exception("stream %s failed: %s: %s", config.id, type(e).__name__, e)
        now = time.monotonic()
        restarts.running(started, now)
        backoff = restarts.failed(now)
        if backoff is None:
            log.error("stream %s failed %d times within %.0f s; giving it up (the process's other cameras "
                      "go on)", config.id, len(restarts.failures), supervisor.give_up_window_s)  # fmt: skip
            return False
        # The failure itself was just logged as an ERROR: the restart it leads to is not a second one.
        log.warning("stream %s restarts in %.1f s", config.id, backoff)
        if restarted is not None:
            restarted.value += 1
        if stop.wait(backoff):
            break
    return True


class FrontendGroupProcess(SpawnProcess):
    """Several streams' frontends in one spawned process (see the module docstring)."""

    def __init__(
        self,
        streams: list[StreamConfig],
        bus: BusConfig,
        supervisor: SupervisorConfig,
        *,
        pose_threads: int = 2,
        log_level: int | str = logging.INFO,
        log_format: str = "text",
        hold_s: float = 60.0,
        snapshot_dir: Path | None = None,
        progress: dict[str, Progress] | None = None,
    ) -> None:
        super().__init__(name=f"haad-frontend-{streams[0].id}+{len(streams) - 1}", daemon=True)
        self.streams, self.bus, self.supervisor = streams, bus, supervisor
        self.pose_threads = pose_threads
        self.log_level, self.log_format, self.hold_s = log_level, log_format, hold_s
        self.snapshot_dir = snapshot_dir  # the ring folders (pose_frontend.snapshots); None: no pictures
        self.stop_event = _SPAWN.Event()
        self.finished_event = _SPAWN.Event()
        self.release_event = _SPAWN.Event()
        self.counters = {s.id: Counters.shared() for s in streams}
        self.given_up = {s.id: _SPAWN.Event() for s in streams}
        self.restarts: dict[str, Count] = {s.id: _SPAWN.RawValue("q", 0) for s in streams}
        progress = progress or {}  # the daemon's, by stream (pose_frontend.base.Progress)
        self.progress = {s.id: progress.get(s.id) or Progress.shared() for s in streams}

    def run(self) -> None:
        die_with_parent(signal.SIGKILL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop (FrontendProcess.run)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        faulthandler.enable()
        setup_logging(self.log_level, self.log_format)
        sys.exit(self.publish())

    def publish(self) -> int:
        """Run the cameras and publish their frames (``run``'s work, once the process is set up); the
        exit code: 0 once every camera ended or was given up, 1 when the process itself failed,
        logged as one ERROR naming its cameras."""
        try:
            self._publish()
            return 0
        # A bug, a full disk: uncaught, multiprocessing printed a bare traceback on stderr, naming
        # no camera. The daemon restarts the process (exit code 1) as for any failure.
        except Exception as e:  # noqa: BLE001
            cameras = ", ".join(s.id for s in self.streams)
            log.exception("frontend of streams %s failed: %s: %s", cameras, type(e).__name__, e)
            return 1

    def _publish(self) -> None:
        frames: queue.Queue[SkeletonFrame] = queue.Queue(maxsize=_QUEUE_FRAMES)
        slots = threading.Semaphore(self.pose_threads)
        models = PoseModelPool(self.pose_threads)
        publisher = QueuePublisher(frames)

        def camera(stream: StreamConfig) -> None:
            if not run_camera(
                stream,
                publisher,
                self.stop_event,
                self.counters[stream.id],
                slots,
                self.supervisor,
                self.snapshot_dir,
                models,
                self.progress[stream.id],
                self.restarts[stream.id],
            ):
                self.given_up[stream.id].set()
            else:
                say_ended(stream.id, publisher, self.progress[stream.id], self.stop_event)

        cameras = [
            threading.Thread(target=camera, args=(s,), name=f"camera-{s.id}", daemon=True)
            for s in self.streams
        ]
        context = zmq.Context()  # this process's one context, its one socket below
        socket = Publisher.from_config(self.bus, context=context)
        try:
            for c in cameras:
                c.start()
            while any(c.is_alive() for c in cameras) or not frames.empty():
                try:
                    frame = frames.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                socket.publish(frame, wait=self.stop_event)
            self.finished_event.set()
            if not self.release_event.wait(self.hold_s):
                log.warning("frontend group: nobody released its queue within %.0f s; closing", self.hold_s)
        finally:
            if not any(c.is_alive() for c in cameras):  # a camera still running may hold a model
                models.close()
            socket.close()
            context.term()

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Stop every camera, release the queue, wait up to ``timeout_s``, then kill it (it ignores
        SIGTERM)."""
        self.stop_event.set()
        self.release_event.set()
        self.join(timeout_s)
        if self.is_alive():
            log.warning("frontend group %s did not stop within %.1f s; killing it", self.name, timeout_s)
            self.kill()
            self.join(1.0)
        return self.exitcode
