"""The frontend loop (source -> pose estimation -> SkeletonFrame -> bus) and its OS process.

:func:`run_stream` is the loop, a plain function that any publisher and stop flag can drive (tests
call it in-process). :class:`FrontendProcess` runs it in its own spawned process, one per stream,
so a slow camera or a stuck decoder never stalls another stream. The process creates its zmq
context, socket, source and MediaPipe graph inside ``run()`` and closes them in ``finally``.

Counters (:class:`pose_frontend.base.Counters`) live in shared memory the parent reads at any time
(``FrontendProcess.counters.snapshot()``), also while a camera is down:

* ``frames``: frames taken from the source;
* ``published``: frames sent on the bus (``seq`` runs 1, 2, ... over taken frames);
* ``dropped``: frames of a live source the bus had no room for (a file source waits instead);
* ``no_person``: published frames without anybody in view;
* ``errors``: frames that failed pose estimation or validation; they are not published, so their
  ``seq`` is missing and the worker counts them as lost frames;
* ``refused``: frames that left someone out: found beyond ``estimator.people.max_people``,
  not tracked;
* ``snapshot_failed``: camera frames the snapshot ring could not keep (the frame is published all the
  same: :mod:`pose_frontend.snapshots`);
* ``reconnects``, ``failed_opens``, ``skipped``: counted by the source (live sources reconnecting,
  frames replaced by newer ones, unreadable images, a recording's frames published before a restart).

A recording (a file) that ran out is followed by a frame of nobody marked ``ended``
(:func:`say_ended`), not counted. Exit codes: 0 when the source ended or the stop event was set, 1
when the stream failed (missing or corrupt input, a live source that gave up, too many consecutive
estimation errors; the reason is logged as one ERROR line).
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import signal
import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Protocol

import numpy as np
import zmq

from bus.lifetime import die_with_parent
from bus.logs import setup_logging
from bus.messages import PersonSkeleton, SkeletonFrame
from bus.pubsub import Publisher
from config.bus import BusConfig
from config.frontend import EstimatorConfig, StreamConfig
from pose_frontend.base import Counters, Progress, Source, SourceError, StopFlag
from pose_frontend.estimator import EstimatorError, PoseEstimator, open_estimator, to_canonical_pose
from pose_frontend.multi import MultiPoseEstimator, PersonPose
from pose_frontend.shared_pose import PoseModelPool, SharedModelPoseEstimator
from pose_frontend.snapshots import FrameRing, landmark_box
from pose_frontend.sources import open_source

log = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")


class FrameErrorLimit(RuntimeError):
    """Too many frames in a row failed: the estimator or the input is broken for good."""


class FramePublisher(Protocol):
    """What the loop needs of ``bus.Publisher``."""

    def publish(self, frame: SkeletonFrame, *, wait: StopFlag | None = None) -> bool: ...


def skeleton_pose(frame: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A replayed canonical skeleton ``(20, 3)``, or ``(20, 4)`` with the visibility a MediaPipe clip
    file gives each joint -> (joints, visibility): that visibility (else 1) where measured, 0 where
    NaN; a frame without any measured joint is "no person". The worker judges the visibility by its
    own ``worker.min_visibility``, as it judges a camera's."""
    joints = frame[:, :3]
    measured = ~np.isnan(joints).any(axis=-1)  # Inf is a bad value, not a missing joint: the bus refuses it
    if not measured.any():
        return None, None
    seen = frame[:, 3] if frame.shape[-1] == 4 else np.float32(1.0)
    return joints, np.where(measured, seen, 0.0).astype(np.float32)


def skeleton_people(people: np.ndarray) -> tuple[PersonSkeleton, ...]:
    """A replayed frame of several people ``(P, 20, 3)`` -> person ``p + 1`` for each with a measured
    joint (a person all NaN is out of view); no box: a replay holds no image."""
    out = []
    for p, joints in enumerate(people):
        joints, visibility = skeleton_pose(joints)
        if joints is not None and visibility is not None:
            out.append(PersonSkeleton(p + 1, joints, visibility))
    return tuple(out)


def estimate_pose(
    estimator: PoseEstimator, rgb: np.ndarray, timestamp_s: float, config: EstimatorConfig
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """An RGB frame -> canonical (joints, visibility) and the image landmarks in pixels, or
    (None, None, None) when nobody is detected."""
    result = estimator.estimate(rgb, timestamp_s)
    if result is None:
        return None, None, None
    return (*to_canonical_pose(result, config.visibility_threshold), result.image)


def person_skeleton(
    p: PersonPose, width: int, height: int, visibility_threshold: float | None = None
) -> PersonSkeleton:
    """A tracked person as the bus carries them: id, canonical pose, box as fractions of the frame."""
    joints = p.joints.copy()
    if visibility_threshold is not None:
        joints[p.visibility < visibility_threshold] = np.nan
    x0, y0, x1, y1 = p.box
    return PersonSkeleton(
        p.track_id, joints, p.visibility, (x0 / width, y0 / height, x1 / width, y1 / height)
    )


def estimate_people(
    estimator: MultiPoseEstimator,
    rgb: np.ndarray,
    timestamp_s: float,
    config: EstimatorConfig,
    counters: Counters,
) -> tuple[PersonSkeleton, ...]:
    """An RGB frame -> every tracked person (:func:`person_skeleton`); a frame that left someone
    out for ``max_people`` counts in ``counters["refused"]``."""
    height, width = rgb.shape[:2]
    refused = estimator.tracker.counters.refused
    people = estimator.estimate(rgb, timestamp_s)
    if estimator.tracker.counters.refused > refused:  # per frame: the detector finds one person many times
        counters.add("refused")
    return tuple(person_skeleton(p, width, height, config.visibility_threshold) for p in people)


def run_stream(
    config: StreamConfig,
    publisher: FramePublisher,
    stop: StopFlag,
    *,
    counters: Counters | None = None,
    source: Source | None = None,
    snapshot_dir: Path | None = None,
    pose_slots: AbstractContextManager[object] | None = None,
    pose_models: PoseModelPool | None = None,
    progress: Progress | None = None,
) -> Counters:
    """Publish ``config``'s stream until its source ends or ``stop`` is set; returns the counters.

    ``source`` replaces the one ``config.source`` describes (its ``stats`` are then the counters).
    With ``snapshot_dir`` and ``config.snapshots`` on, camera frames go to a :class:`FrameRing` there.
    ``pose_slots``: held around each pose estimate (several cameras of one process share the cores).
    ``pose_models``: the process's shared models, used by the legacy estimator (same landmarks, a
    fraction of the memory: :mod:`pose_frontend.shared_pose`).
    ``progress``: where an earlier run of this stream got to, kept up to date: a recording continues
    after its last published frame, with the next ``seq``; new people get ids after those it gave.
    Raises :class:`SourceError` when the source fails, :class:`EstimatorError` when the estimator
    cannot start, and :class:`FrameErrorLimit` after ``config.max_consecutive_errors`` failed
    frames in a row.
    """
    if source is None:
        source = open_source(config.source, stop=stop, counters=counters, pose_fps=config.pose_fps)
    counters = source.stats
    seq = failures_in_a_row = 0
    progress = progress if progress is not None else Progress()
    with ExitStack() as stack:
        src = stack.enter_context(source)
        frames: Iterable[tuple[float, np.ndarray]] = src
        if progress.seq and src.resume_after(progress.timestamp):
            seq = progress.seq
            frames = _rest_of(src, config.id, progress.timestamp)
            log.info("%s: continuing after the frame at t=%.3f published before the restart", config.id,
                     progress.timestamp)  # fmt: skip
        if stop.is_set():  # stopped while starting: building a pose graph takes seconds
            return counters
        estimator: PoseEstimator | None = None
        multi: MultiPoseEstimator | None = None
        ring: FrameRing | None = None
        if src.produces == "image" and config.estimator.people is not None:
            first_id = progress.track_id + 1  # ids are never reused, by a restart neither
            multi = stack.enter_context(MultiPoseEstimator(config.estimator.people, first_id))
        elif src.produces == "image" and pose_models is not None and config.estimator.kind == "legacy":
            estimator = stack.enter_context(SharedModelPoseEstimator(config.estimator, pose_models))
        elif src.produces == "image":
            estimator = stack.enter_context(open_estimator(config.estimator))
        if src.produces == "image" and snapshot_dir is not None and config.snapshots != "off":
            # A restart continues the stream's clock (a file after its last sent frame, a camera on
            # the host's clock): the ring's frames stay for the alerts open across it.
            ring = FrameRing(snapshot_dir / config.id, progress.timestamp if progress.seq else None, counters)
        for timestamp, frame in frames:
            if stop.is_set():
                break
            seq += 1
            try:
                if multi is not None or (estimator is None and frame.ndim == 3):  # several people
                    with pose_slots or nullcontext():
                        people = (
                            skeleton_people(frame)
                            if multi is None
                            else estimate_people(multi, frame, timestamp, config.estimator, counters)
                        )
                    if ring is not None and multi is not None:
                        ring.add(timestamp, frame, [p.box for p in people])
                    message = SkeletonFrame.of_people(
                        config.id, seq, timestamp, people, people_since=progress.people_since
                    )
                else:
                    if estimator is None:
                        joints, visibility = skeleton_pose(frame)
                    else:
                        with pose_slots or nullcontext():
                            joints, visibility, landmarks = estimate_pose(
                                estimator, frame, timestamp, config.estimator
                            )
                        if ring is not None:
                            box = landmark_box(landmarks, frame.shape[1], frame.shape[0])
                            ring.add(timestamp, frame, [box])
                    message = SkeletonFrame(
                        config.id, seq, timestamp, joints, visibility, people_since=progress.people_since
                    )
            # A frame MediaPipe chokes on, or one the bus refuses (e.g. Inf in a replayed file), costs
            # that frame only; a run of them means something is broken for good.
            except Exception as e:  # noqa: BLE001 (third-party graph: any error type)
                counters.add("errors")
                failures_in_a_row += 1
                log.log(
                    logging.WARNING if counters["errors"] == 1 else logging.DEBUG,
                    "%s: frame %d at t=%.3f failed: %s",
                    config.id,
                    seq,
                    timestamp,
                    e,
                )
                if failures_in_a_row >= config.max_consecutive_errors:
                    raise FrameErrorLimit(
                        f"{config.id}: {failures_in_a_row} frames in a row failed; last error: {e}"
                    ) from e
                continue
            failures_in_a_row = 0
            # Marked first: killed between the two, a restart skips this frame rather than send it twice.
            progress.mark(seq, timestamp, 0 if multi is None else multi.tracker.last_id)
            if not publisher.publish(message, wait=stop if src.lossless else None):
                counters.add("dropped")  # a live frame the bus had no room for (or a stop)
                continue
            counters.add("published")
            if not message.person:
                counters.add("no_person")
    return counters


def say_ended(stream_id: str, publisher: FramePublisher, progress: Progress, stop: StopFlag) -> None:
    """After ``stream_id``'s finite source (a file) ran out, unless ``stop`` ended it: a frame of
    nobody marked ``ended``, a ``seq`` after its last published frame (``progress``), at that frame's
    time. A worker on another host can then tell the recording ended from a camera that stopped
    sending (edge.daemon names it ended, not out). Nothing when nothing was published."""
    if stop.is_set() or not progress.seq:
        return
    end = SkeletonFrame(stream_id, progress.seq + 1, progress.timestamp, None, None,
                        people_since=progress.people_since, ended=True)  # fmt: skip
    publisher.publish(end, wait=stop)


def _rest_of(source: Source, stream_id: str, after: float) -> Iterator[tuple[float, np.ndarray]]:
    """A resumed recording's frames. One that fails before giving any (a truncated video restarted
    after its readable part) has nothing left to read: it ends there instead of failing again."""
    delivered = False
    try:
        for item in source:
            delivered = True
            yield item
    except SourceError as e:
        if delivered:
            raise
        # The failure that led to this restart was the ERROR: this is where it leaves the stream.
        log.warning(
            "%s: nothing after t=%.3f can be read (%s); the recording ends there", stream_id, after, e
        )


class FrontendProcess(SpawnProcess):
    """One stream's frontend in its own spawned process, publishing to ``bus``.

    Its events belong to this stream alone. ``stop_event``: stop taking frames. ``finished_event``:
    set by the process when its source ended or it was stopped, after its last frame was queued.
    It then holds its socket open until ``release_event`` is set (at most ``hold_s``): frames still
    queued are delivered only while the socket is open, so the daemon lets the worker drain the
    bus first (libzmq drops what a closing sender still has in flight, linger or not).
    ``counters`` are readable from the parent while the process runs and after it ends.
    """

    def __init__(
        self,
        config: StreamConfig,
        bus: BusConfig,
        *,
        log_level: int | str = logging.INFO,
        log_format: str = "text",
        hold_s: float = 60.0,
        snapshot_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(name=f"haad-frontend-{config.id}", daemon=True)
        self.config = config
        self.bus = bus
        self.log_level = log_level
        self.log_format = log_format
        self.hold_s = hold_s
        self.snapshot_dir = snapshot_dir  # the ring folders (pose_frontend.snapshots); None: no pictures
        self.stop_event = _SPAWN.Event()
        self.finished_event = _SPAWN.Event()
        self.release_event = _SPAWN.Event()
        self.counters = Counters.shared()
        # the daemon's, shared by every process it starts for this stream (Progress)
        self.progress = progress if progress is not None else Progress.shared()

    def run(self) -> None:
        die_with_parent(signal.SIGKILL)  # never outlives the daemon (bus.lifetime)
        # The parent decides when to stop: a terminal's Ctrl-C, `timeout` or `kill -TERM -PGID` reach
        # the whole process group, and a frontend killed inside its stop event's wait left the event
        # waiting for it: the daemon's stop_event.set() then hung for good.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        faulthandler.enable()
        setup_logging(self.log_level, self.log_format)
        sys.exit(self.publish())

    def publish(self) -> int:
        """Publish the stream (``run``'s work, once the process is set up); the exit code: 0 when it
        ended or was stopped, 1 when it failed, logged as one ERROR naming it."""
        context = zmq.Context()  # this process's one context
        publisher = None
        try:
            publisher = Publisher.from_config(self.bus, context=context)
            run_stream(self.config, publisher, self.stop_event, counters=self.counters,
                       snapshot_dir=self.snapshot_dir, progress=self.progress)  # fmt: skip
            say_ended(self.config.id, publisher, self.progress, self.stop_event)
            self.finished_event.set()
            if not self.release_event.wait(self.hold_s):
                log.warning("stream %s: nobody released its queue within %.0f s; closing", self.config.id,
                            self.hold_s)  # fmt: skip
            return 0
        except (SourceError, EstimatorError, FrameErrorLimit) as e:
            log.error("stream %s stopped: %s", self.config.id, e)
        # A bug, a full disk: uncaught, multiprocessing printed a bare traceback on stderr, naming
        # no camera. The daemon restarts the process (exit code 1) as for any failure.
        except Exception as e:  # noqa: BLE001
            log.exception("stream %s failed: %s: %s", self.config.id, type(e).__name__, e)
        finally:
            if publisher is not None:
                publisher.close()
            context.term()
        return 1

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Stop taking frames, release the queue, wait up to ``timeout_s``, then kill it (it ignores
        SIGTERM); returns the exit code."""
        self.stop_event.set()
        self.release_event.set()
        self.join(timeout_s)
        if self.is_alive():
            log.warning("frontend %s did not stop within %.1f s; killing it", self.config.id, timeout_s)
            self.kill()
            self.join(1.0)
        return self.exitcode
