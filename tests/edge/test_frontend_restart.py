"""A frontend restarted on another host counts people from 1 again: the worker must not hand a person's
open alert on to whoever has their id in the new run. Real ZeroMQ bus, the frontend loop (run_stream)
in a process killed with SIGKILL and started again, the worker's loop, alert sink and outbox in this
process (a "killed" worker is dropped without closing its episodes, as SIGKILL leaves them)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import zmq

from bus import Subscriber
from bus.messages import PersonSkeleton, SkeletonFrame, encode
from bus.pubsub import Publisher
from config.edge import EdgeConfig
from config.frontend import MotionStep, StreamConfig, SyntheticSourceConfig
from edge import metrics
from edge.alerts_sink import AlertSink
from edge.backends import make_backend
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline
from edge.store import AlertRecord, AlertStore
from edge.worker import ProfileSet, _Loop, outbox_path
from pose_frontend.base import Progress, Source, StopFlag
from pose_frontend.process import run_stream
from pose_frontend.sources import open_source
from tests.daemon_harness import wait, worker_config

pytestmark = pytest.mark.slow  # 7-17 s each: a frontend process per run, 20-40 s of windows scored

_SPAWN = multiprocessing.get_context("spawn")
T0 = time.time() - 120.0  # the frontend host's clock when the first run started (frames are sent fast)


def _motion(motions: list[tuple[str, float]], seed: int) -> np.ndarray:
    script = [MotionStep(motion=m, seconds=s) for m, s in motions]  # type: ignore[arg-type]
    with open_source(SyntheticSourceConfig(script=script, seed=seed, realtime=False, fps=20.0)) as source:
        return np.stack([j for _, j in source])


class _Camera(Source):
    """A live camera: frames ``(T, 20, 3)`` (one person) or ``(T, P, 20, 3)`` stamped from ``start`` at
    20 fps; with ``resume``, frames from ``gap_at`` on come ``gap_s`` later, once it is set (the
    network was out meanwhile, or the worker down: those frames were lost)."""

    produces = "skeleton"

    def __init__(
        self, frames: np.ndarray, start: float, resume=None, gap_at: int = 0, gap_s: float = 0.0
    ) -> None:
        super().__init__()
        self.frames, self.start, self.resume, self.gap_at, self.gap_s = frames, start, resume, gap_at, gap_s

    def _frames(self) -> Iterator[tuple[float, np.ndarray]]:
        gap = 0.0
        for i, frame in enumerate(self.frames):
            if self.resume is not None and i == self.gap_at:
                self.resume.wait(60)
                gap = self.gap_s
            yield self.start + gap + i / 20.0, frame


class _SentAtOnce:
    """A publisher that sends each frame as taken (``sent_at`` its timestamp): the camera's clock is
    that of its host, some way back, so that a test need not wait for frames in real time."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    def publish(self, frame: SkeletonFrame, *, wait: StopFlag | None = None) -> bool:
        return self.publisher.publish(frame._part(sent_at=frame.timestamp), wait=wait)


def _frontend(cfg: EdgeConfig, camera: _Camera) -> None:
    """One run of `haad frontend run`: people numbered from 1 since it started; it sends its frames,
    then stays up (a live camera) until killed."""
    with Publisher.from_config(cfg.bus) as publisher:
        progress = Progress([0.0, -np.inf, 0.0, camera.start])  # it started when its camera did
        run_stream(StreamConfig(id="cam"), _SentAtOnce(publisher),
                   threading.Event(), source=camera, progress=progress)  # fmt: skip
        time.sleep(3600)


class _Run:
    """A frontend run in its own process, killed with SIGKILL."""

    def __init__(self, cfg: EdgeConfig, camera: _Camera) -> None:
        self.process = _SPAWN.Process(target=_frontend, args=(cfg, camera), daemon=True)
        self.process.start()

    def kill(self) -> None:
        assert self.process.pid is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(10)


class _Worker:
    """edge.worker.run_worker's body in a thread; :meth:`kill` drops it with its episodes open.
    ``closed``: the close reason of each episode it closed, by person."""

    def __init__(self, cfg: EdgeConfig, backend) -> None:
        profiles = ProfileSet(cfg, backend, metrics)
        profiles.refresh()
        self.pipeline = Pipeline(cfg.worker, backend, profiles.profiles())
        self.sink = AlertSink(cfg.store, outbox_path(cfg), model_version=backend.model_version,
                              profile_versions=lambda _: 1, host="test")  # fmt: skip
        self.closed: list[tuple[int, str | None]] = []
        write = self.sink.write

        def recorded(events: Sequence[EpisodeEvent]) -> None:
            self.closed += [(e.episode.person, e.close_reason) for e in events if e.kind == "closed"]
            write(events)

        self.sink.write = recorded  # type: ignore[method-assign]
        self.sink.start(["cam"])
        self.loop = _Loop(cfg, self.pipeline, self.sink, metrics)
        self.loop.resume(self.sink.unfinished(wait_s=5.0))
        self.sub = Subscriber.from_config(cfg.bus, streams=["cam"])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.loop.receive(self.sub)
            self.loop.commit([], self.pipeline.tracker.expire(time.monotonic()))

    def kill(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.sub.close()
        self.sink.close(timeout_s=10)

    def shut(self) -> None:
        """A stop: what the bus holds is scored, every episode closed."""
        self.stop.set()
        self.thread.join(10)
        self.loop.drain(self.sub)
        self.loop.commit([], self.pipeline.close_all())
        self.kill()


@pytest.fixture(scope="module")
def backend():
    return make_backend(EdgeConfig.model_validate({"streams": [{"id": "cam"}]}).worker.backend)


def _cfg(tmp_path: Path, max_gap_s: float = 0.5) -> EdgeConfig:
    return worker_config(tmp_path, max_gap_s=max_gap_s)


WALK = [("walk_in_place", 10.0)]
JUMP = [("jump_flail", 10.0)]


def _people(seed: int, *motions: list[tuple[str, float]]) -> np.ndarray:
    """``(T, P, 20, 3)``: person p + 1 performs ``motions[p]``; ``seed`` picks who they are."""
    return np.stack([_motion(m, seed + p) for p, m in enumerate(motions)], axis=1)


def _alerts(cfg: EdgeConfig, person: int) -> list[AlertRecord]:
    with AlertStore(cfg.store) as store:
        return sorted((store.get_alert(a.id) for a in store.list_alerts() if a.person == person),
                      key=lambda a: a.id)  # fmt: skip


def _spans(cfg: EdgeConfig, person: int) -> list[tuple[float, float]]:
    """Each alert of ``person``: the first and the last of its kept windows' ends (source seconds)."""
    return [(float(a.window_times[:, 1].min()), float(a.window_times[:, 1].max()))  # type: ignore[index]
            for a in _alerts(cfg, person)]  # fmt: skip


def _alert_opened(cfg: EdgeConfig, person: int, n: int) -> None:
    """Wait for ``person``'s ``n``-th alert to be open."""

    def opened() -> bool:
        alerts = _alerts(cfg, person)
        return len(alerts) >= n and alerts[n - 1].ended_at is None

    wait(opened, 60, f"person {person}'s alert {n}")


@pytest.mark.parametrize(
    ("worker_restarts", "max_gap_s"),
    [(False, 0.5), (False, 2.0), (True, 0.5)],
    ids=["worker-up", "worker-up-bridging-2s", "worker-restarted-too"],
)
def test_a_restarted_frontends_person_1_never_continues_the_old_person_1s_alert(
    tmp_path: Path, backend, worker_restarts: bool, max_gap_s: float
) -> None:
    # Run 1: person 1 acts abnormally and is alerted. The frontend dies with that alert open and its
    # next run (its clock 11 s on) numbers people from 1 again: its person 1 is someone else, who
    # acts abnormally too, and must get an alert of their own.
    cfg = _cfg(tmp_path, max_gap_s)
    worker = _Worker(cfg, backend)
    first = _Run(cfg, _Camera(_people(1, JUMP, WALK), T0))
    _alert_opened(cfg, 1, 1)
    first.kill()
    if worker_restarts:
        worker.kill()
        worker = _Worker(cfg, backend)
    time.sleep(1.5)  # a restart takes that long at least (the bus guard follows it after 1 s)
    second = _Run(cfg, _Camera(_people(5, JUMP, WALK), T0 + 11.0))
    _alert_opened(cfg, 1, 2)
    worker.shut()
    second.kill()
    (_, before), (after, _) = _spans(cfg, 1)
    assert before < T0 + 10.5 <= T0 + 11.0 < after  # each person 1's windows in their own alert
    # from their first windows on (a second in), not once the old person 1's cooldown is over (4 s in)
    assert after < T0 + 11.0 + 2.0
    if not worker_restarts:  # (a new worker closes it before any window of its)
        assert (1, "restart") in worker.closed


def test_a_frontend_restarted_twice_hands_no_alert_to_the_next_runs_people(tmp_path: Path, backend) -> None:
    # Each run's person 1 acts abnormally; worker and frontend go down with that alert open, twice
    # (a power cut of both hosts).
    cfg = _cfg(tmp_path)
    worker = _Worker(cfg, backend)
    for n in range(3):
        run = _Run(cfg, _Camera(_people(10 * n + 1, JUMP, WALK), T0 + 11.0 * n))
        _alert_opened(cfg, 1, n + 1)
        run.kill()
        if n < 2:
            worker.kill()
            worker = _Worker(cfg, backend)
    worker.shut()
    spans = _spans(cfg, 1)
    assert len(spans) == 3  # one alert per run's person 1
    for n, (first, last) in enumerate(spans):
        assert T0 + 11.0 * n <= first and last < T0 + 11.0 * n + 10.5


@pytest.mark.parametrize("tracked", [False, True], ids=["one-person", "tracked"])
def test_the_same_frontend_run_after_a_gap_goes_on_with_its_alert(
    tmp_path: Path, backend, tracked: bool
) -> None:
    # The frontend keeps running while the worker restarts (or the network is out): its frames of those
    # 5 s are lost, and its next ones, within resume_within_s, continue the same person's alert.
    cfg = _cfg(tmp_path)
    people = _people(1, [("walk_in_place", 3.0), ("jump_flail", 17.0)], [("walk_in_place", 20.0)])
    frames, person = (people, 1) if tracked else (people[:, 0], 0)
    resume = _SPAWN.Event()
    worker = _Worker(cfg, backend)
    run = _Run(cfg, _Camera(frames[:300], T0, resume, gap_at=200, gap_s=5.0))
    _alert_opened(cfg, person, 1)
    worker.kill()
    worker = _Worker(cfg, backend)
    resume.set()
    wait(lambda: any(last > T0 + 15.0 for _, last in _spans(cfg, person)), 60, "the alert to go on")
    worker.shut()
    run.kill()
    ((first, last),) = _spans(cfg, person)
    assert first < T0 + 10.0 and last > T0 + 15.0


def _schema_2(frame: SkeletonFrame) -> list[bytes]:
    """``frame`` as a frontend older than schema 3 sends it: no ``people_since`` (docs/bus.md)."""
    topic, payload = encode(frame)
    return [topic, payload[:4] + (2).to_bytes(2, "little") + payload[6:32] + payload[40:]]


def _old_frontend_run(push: zmq.Socket, people: np.ndarray, start: float) -> None:
    """A schema-2 frontend's run: seq and person ids from 1, every frame sent at once."""
    vis = np.ones(20, np.float32)
    for i, frame in enumerate(people):
        t = start + i / 20.0
        who = tuple(PersonSkeleton(p + 1, joints, vis) for p, joints in enumerate(frame))
        push.send_multipart(_schema_2(SkeletonFrame.of_people("cam", i + 1, t, who, sent_at=t)))


@pytest.mark.parametrize("max_gap_s", [0.5, 2.0], ids=["gap-ends-the-segment", "gap-bridged"])
def test_an_old_frontends_restart_is_read_as_a_gap_in_one_run(
    tmp_path: Path, backend, max_gap_s: float
) -> None:
    # A frontend older than schema 3 says nothing of when it began numbering people, so its restart
    # (person 1 someone else, 1 s of source time later) cannot be told from a network gap within one
    # run, and is read as one: a gap over max_gap_s ends person 1's segment and their alert ('reset':
    # a tracked person's alert does not wait across a hole in such a stream, edge/episodes.py), the
    # next holder's alert opening once its cooldown is over; a gap bridged continues the alert.
    # Nothing is closed as a restart, nothing lost, and the worker goes on; upgrading the frontend
    # (schema 3) is what tells the people apart.
    cfg = _cfg(tmp_path, max_gap_s)
    worker = _Worker(cfg, backend)
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.linger = 0
    push.connect(cfg.bus.endpoint)
    try:
        _old_frontend_run(push, _people(1, JUMP, WALK), T0)
        _alert_opened(cfg, 1, 1)
        time.sleep(1.5)  # a restart takes that long at least (the bus guard follows it after 1 s)
        _old_frontend_run(push, _people(5, JUMP, WALK), T0 + 11.0)
        if max_gap_s < 1.0:
            _alert_opened(cfg, 1, 2)
        else:
            wait(lambda: any(last > T0 + 15.0 for _, last in _spans(cfg, 1)), 60, "the alert to go on")
        worker.shut()
    finally:
        push.close(linger=0)
    assert all(reason != "restart" for _, reason in worker.closed)
    spans = _spans(cfg, 1)
    if max_gap_s < 1.0:
        (_, before), (after, _) = spans
        assert before < T0 + 10.5 and T0 + 11.0 < after and (1, "reset") in worker.closed
    else:
        ((first, last),) = spans  # the old person 1's alert, the new person 1's windows in it
        assert first < T0 + 10.0 and last > T0 + 15.0
