"""The worker process: bus -> :class:`~edge.pipeline.Pipeline` -> alert writer, with live profile reloads.

One worker serves every stream, so ready windows of all cameras share one encoder call. Its loop
polls the bus with a timeout (so the stop event is seen), scores what is due and hands alert events
to the alert writer (edge.alerts_sink) the moment they happen, never waiting for the alert log.
Every ``reload_every_s`` it picks up new or changed behaviour profiles, resets streams that went
silent and resumes episodes a previous worker left open. On stop it reads what the frontends still
sent, scores it, closes open episodes and waits for the writer to deliver them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing.synchronize import Event
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import numpy as np

from bus import Subscriber
from config.edge import EdgeConfig
from edge.alerts_sink import AlertSink, Unfinished
from edge.backends import EncoderBackend, make_backend
from edge.enroll import reembed
from edge.episodes import EpisodeEvent
from edge.live_status import StatusRecorder
from edge.overlays import overlay_store
from edge.pipeline import Pipeline, ScoredBatch
from edge.profiles import Profile, ProfileError, ProfileStore, ProfileWatcher, check_model
from edge.snapshots import SnapshotKeeper, alerts_root, ring_root, snapshot_modes
from edge.state_lock import hold_lock, outbox_path, state_dir

log = logging.getLogger("haad.worker")
FPS_WINDOW_S = 5.0
RESUME_WAIT_S = 5.0  # how long a starting worker waits for the alert log's open episodes
OUTBOX_LOCK_WAIT_S = 30.0


def for_backend(profile: Profile, backend: EncoderBackend, cfg: EdgeConfig) -> Profile:
    """``profile`` as the running encoder sees it: re-embedded (and recalibrated) when it was enrolled
    with another encoder, so embeddings of different models are never compared."""
    if profile.model_version == backend.model_version:
        return profile
    out = reembed(profile, backend, cfg.worker.calibration)
    log.warning(
        "profile %s v%d was enrolled with encoder %s; re-embedded for %s (threshold %.3f)",
        profile.name, profile.version, profile.model_version, backend.model_version, out.threshold,
    )  # fmt: skip
    return out


class ProfileSet:
    """The profiles the worker scores against, and the camera overlays of them (edge/overlays.py),
    following the profile store. A profile or overlay whose new version cannot be loaded, or a profile
    whose files vanished, keeps serving its last good version."""

    def __init__(self, cfg: EdgeConfig, backend: EncoderBackend, metrics: ModuleType) -> None:
        self.cfg, self.backend, self.metrics = cfg, backend, metrics
        self.store = ProfileStore(Path(cfg.profiles_dir))
        self.watcher = ProfileWatcher(self.store, named_profiles(cfg) or None)
        self.current: dict[str, Profile] = {}
        self.missing: set[str] = set()
        self.overlays: dict[tuple[str, str], Profile] = {}  # (stream, profile) -> overlay, as backend sees it
        self._overlay_stamps: dict[tuple[str, str], tuple[int, int] | None] = {}

    def refresh(self) -> bool:
        """Load new or changed profiles and overlays; True when what is in use changed."""
        return self._refresh_profiles() | self._refresh_overlays()

    def extra(self) -> dict[tuple[str, str], Profile]:
        """The overlays with windows, as :class:`~edge.pipeline.Pipeline` takes them."""
        return {k: o for k, o in self.overlays.items() if len(o.embeddings)}

    def _refresh_overlays(self) -> bool:
        pairs = {(s.id, name) for s in self.cfg.streams for name in (s.profiles or self.current)}
        updated = False
        for key in sorted(set(self.overlays) - pairs):
            del self.overlays[key]
            updated = True
        for stream, name in sorted(pairs):
            store = overlay_store(self.store, name)
            stamp = store.stamp(stream)
            if self._overlay_stamps.get((stream, name), ()) == stamp:
                continue
            self._overlay_stamps[(stream, name)] = stamp
            if stamp is None:
                updated |= self.overlays.pop((stream, name), None) is not None
                continue
            try:
                overlay = check_model(store.load(stream, stamp[0]), self.backend)
            except ProfileError as e:
                log.error("overlay of profile %s for stream %s refused (%s)", name, stream, e)
                self.metrics.PROFILE_ERRORS.labels(name).inc()
                continue
            if overlay.model_version != self.backend.model_version and len(overlay.windows):
                emb = self.backend.embed(overlay.windows.astype(np.float32))
                overlay = replace(
                    overlay,
                    embeddings=emb,
                    meta={**overlay.meta, "model_version": self.backend.model_version},
                )
            self.overlays[(stream, name)] = overlay
            updated = True
            log.info("overlay of profile %s for stream %s v%d loaded (%d behaviour(s))", name, stream,
                     overlay.version, len(overlay.behaviour_table))  # fmt: skip
        return updated

    def _refresh_profiles(self) -> bool:
        """Load new or changed profiles; True when the set in use changed. A version the running
        model cannot score (edge.profiles.check_model) is refused like an unreadable one."""
        changed, failed, gone = self.watcher.poll()
        for name, why in failed.items():
            self._refused(name, why)
        for name in sorted(set(gone) - self.missing):
            log.error(
                "profile %s vanished from %s; its last version keeps serving", name, self.cfg.profiles_dir
            )
        self.missing = set(gone)
        for name in self.watcher.seen:
            self.metrics.PROFILE_MISSING.labels(name).set(int(name in self.missing))
            self.metrics.PROFILE_ERRORS.labels(name)  # a series at 0 from the start
        updated = False
        for p in changed:
            try:
                self.current[p.name] = for_backend(check_model(p, self.backend), self.backend, self.cfg)
                updated = True
                log.info("profile %s v%d loaded (threshold %.3f)", p.name, p.version, p.threshold)
            except ValueError as e:
                self._refused(p.name, str(e))
        return updated

    def _refused(self, name: str, why: str) -> None:
        keeping = f"v{self.current[name].version} keeps serving" if name in self.current else "not in use"
        log.error("profile %s refused (%s); %s", name, why, keeping)
        self.metrics.PROFILE_ERRORS.labels(name).inc()

    def profiles(self) -> list[Profile]:
        return [self.current[k] for k in sorted(self.current)]


class StreamRates:
    """Frames per second per stream over the last few seconds (for the fps gauge)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, deque[float]] = {}

    def add(self, stream: str, now: float) -> None:
        q = self.arrivals.setdefault(stream, deque())
        q.append(now)
        while q and now - q[0] > FPS_WINDOW_S:
            q.popleft()

    def fps(self, now: float) -> dict[str, float]:
        return {
            s: sum(1 for t in q if now - t <= FPS_WINDOW_S) / FPS_WINDOW_S for s, q in self.arrivals.items()
        }


def run_worker(
    cfg: EdgeConfig,
    stop: Event,
    *,
    ready: Event | None = None,
    encoder: Path | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
    people_since: float | None = None,
) -> None:
    """The worker process's body: runs until ``stop`` is set, then drains the bus, closes every
    episode and hands it to the alert writer. ``ready`` is set once the model is loaded and the bus
    is listening; ``report`` gets :meth:`Pipeline.report` (what was scored, per stream) at the end.
    ``people_since``: when (wall clock) the frontends started giving person ids from 1 (the daemon's
    own, at its start): a tracked person's episode left open from before then is closed, not
    continued, as their id names someone else now. None: ids are not this daemon's to know."""
    from edge import metrics  # after the daemon set up multiprocess metrics

    # One worker per outbox: a new one waits for the one it replaces to be gone for good.
    lock = outbox_lock(cfg, wait_s=OUTBOX_LOCK_WAIT_S)
    backend = make_backend(cfg.worker.backend, encoder or (Path(cfg.encoder) if cfg.encoder else None))
    profiles = ProfileSet(cfg, backend, metrics)
    profiles.refresh()
    streams = [s.id for s in cfg.streams]
    pipeline = Pipeline(
        cfg.worker,
        backend,
        profiles.profiles(),
        stream_profiles={s.id: s.profiles for s in cfg.streams if s.profiles},
        extra=profiles.extra(),
    )
    sink = AlertSink(
        cfg.store,
        outbox_path(cfg),
        model_version=backend.model_version,
        profile_versions=lambda name: profiles.current[name].version if name in profiles.current else 0,
        host=cfg.host_name(),
    )
    sink.start(streams)
    loop = _Loop(cfg, pipeline, sink, metrics, people_since=people_since)
    loop.show_profiles()
    # Before the first window: an episode the previous worker left open is continued, not split.
    loop.resume(sink.unfinished(wait_s=RESUME_WAIT_S))
    log.info("worker up: backend %s, model %s, profiles %s", backend.name, backend.model_version,
             list(pipeline.profile_names))  # fmt: skip
    with Subscriber.from_config(cfg.bus, streams=streams) as sub:
        if ready is not None:
            ready.set()
        try:
            next_housekeeping = time.monotonic()
            while not stop.is_set():
                loop.receive(sub)
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + cfg.reload_every_s
                    loop.housekeeping(sub, profiles)
            loop.drain(sub)
        finally:
            loop.commit([], pipeline.close_all())
            loop.count_drops(sub)
            sink.close(timeout_s=cfg.supervisor.stop_timeout_s)  # then it says what waits where
            log.info(
                "worker stopped: %d windows scored, %d alerts", pipeline.stats.windows_scored, sink.opened,
                extra={"windows_scored": pipeline.stats.windows_scored, "frames_received": dict(sub.received),
                       "drops": dict(sub.drops), "alerts": sink.opened},
            )  # fmt: skip
            if report is not None:
                report({**pipeline.report(), "alerts": sink.opened})
            lock.close()


def outbox_lock(cfg: EdgeConfig, *, wait_s: float = 0.0) -> IO[bytes]:
    """The lock of whoever delivers this deployment's outbox (a worker; `haad alerts deliver`)."""
    return hold_lock(state_dir(cfg) / "alert-outbox.lock", what="a worker", wait_s=wait_s)


def named_profiles(cfg: EdgeConfig) -> set[str]:
    return {p for s in cfg.streams for p in s.profiles}


class _Loop:
    """The worker loop's steps, sharing the pipeline, the sink and the metrics."""

    MAX_FRAMES = 4096

    def __init__(
        self,
        cfg: EdgeConfig,
        pipeline: Pipeline,
        sink: AlertSink,
        metrics: ModuleType,
        *,
        people_since: float | None = None,
    ) -> None:
        self.cfg, self.pipeline, self.sink, self.metrics = cfg, pipeline, sink, metrics
        self.people_since = people_since  # see run_worker
        self.snapshots = SnapshotKeeper(ring_root(cfg), alerts_root(cfg), snapshot_modes(cfg))
        self.rates = StreamRates()
        self.seen_drops: Counter[str] = Counter()
        self.seen_ends: Counter[str] = Counter()
        self.drained = True  # the last read emptied the bus queue
        # The live view of the review server: scores per stream, written by the alert writer.
        self.status = StatusRecorder(sink.write_status, cfg.status_every_s, host=cfg.host_name())

    def receive(self, sub: Subscriber, *, max_wait_s: float = 0.2) -> int:
        """Read what the bus has (waiting up to the next batch deadline), score what is due."""
        wait = self.pipeline.wait_s()
        timeout_ms = int((max_wait_s if wait is None else min(wait, max_wait_s)) * 1000)
        now = time.monotonic()
        frames = sub.recv_batch(max_frames=self.MAX_FRAMES, timeout_ms=timeout_ms)
        self.drained = len(frames) < self.MAX_FRAMES
        for frame in frames:
            self.pipeline.push(frame)
            self.rates.add(frame.stream_id, now)
            self.metrics.FRAMES_RECEIVED.labels(frame.stream_id).inc()
        batches = self.pipeline.run_due()
        self.commit(batches, [])
        self.status.observe(batches, self.pipeline)
        return len(frames)

    def drain(self, sub: Subscriber, quiet_s: float = 0.5, live_s: float = 1.0, most_s: float = 30.0) -> None:
        """Read the bus until it has been quiet ``quiet_s`` (frames the frontends sent before they
        stopped), or for ``live_s`` once its queue was read empty (frames still coming then are
        from senders that go on: frontends on other hosts), at most ``most_s``; then score
        everything queued."""
        start = time.monotonic()
        quiet_since, emptied = start, None
        while (now := time.monotonic()) - start < most_s and now - quiet_since < quiet_s:
            if emptied is not None and now - emptied >= live_s:
                break
            if self.receive(sub, max_wait_s=0.1):
                quiet_since = time.monotonic()
            if self.drained and emptied is None:
                emptied = time.monotonic()
        self.commit(self.pipeline.run_due(flush=True), [])

    def housekeeping(self, sub: Subscriber, profiles: ProfileSet) -> None:
        p, m = self.pipeline, self.metrics
        # After a stall of this loop the bus holds a backlog: streams are judged once it is read.
        if self.drained:
            p.reset_stale()
        self.resume(self.sink.unfinished())  # found only in the alert log, which answered late
        health = self.sink.health()
        m.ALERTS_UNSAVED.set(health.unsaved)
        m.OUTBOX_WAITING.set(health.waiting)
        m.OUTBOX_FAILING.set(int(health.outbox_error is not None))
        m.ALERT_LOG_DOWN.set(int(health.log_error is not None))
        self.commit([], p.tracker.expire(time.monotonic()))
        if profiles.refresh():
            self.commit([], p.set_profiles(profiles.profiles(), profiles.extra()))
            self.show_profiles()
        fps = self.rates.fps(time.monotonic())
        for stream, rate in fps.items():
            m.STREAM_FPS.labels(stream).set(rate)
        self.status.maybe_flush(fps, {n: p.version for n, p in profiles.current.items()})
        self.count_drops(sub)

    def show_profiles(self) -> None:
        """The profiles in use, and an alerts series at 0 for each stream and profile scored for it
        (those loaded at start too: a dashboard shows 0, not no data, before the first alert)."""
        p, m = self.pipeline, self.metrics
        m.PROFILES_LOADED.set(len(p.profile_names))
        for s in self.cfg.streams:
            for name in s.profiles or p.profile_names:
                m.ALERTS.labels(s.id, name)

    def resume(self, unfinished: Sequence[Unfinished]) -> None:
        """Episodes a previous worker left open: continued by their stream's next windows, or closed."""
        if not unfinished:
            return
        deadline = time.monotonic() + self.cfg.worker.episodes.resume_within_s
        events = []
        tracker = self.pipeline.tracker
        for u in unfinished:
            self.metrics.OPEN_EPISODES.inc()
            ended_at = u.episode.end + u.offset_s
            events += tracker.resume(
                u.episode,
                within_s=self.cfg.worker.episodes.resume_within_s,
                deadline=deadline,
                ended_at=ended_at,
                # its person id is given to someone else now: it goes on only with whoever plainly
                # stands where they were, never with the id's new holder
                renumbered=self.people_since is not None and ended_at < self.people_since,
            )
        self.commit([], events)

    def commit(self, batches: Sequence[ScoredBatch], events: Sequence[EpisodeEvent]) -> None:
        m = self.metrics
        for b in batches:
            self.sink.write(b.events)
            done = time.time()
            if b.windows:
                m.WINDOWS_SCORED.inc(len(b.windows))
                m.BATCHES.inc()
                m.SCORING_SECONDS.observe(b.seconds)
                for w in b.windows:
                    m.WINDOW_LATENCY.observe(max(0.0, done - w.last_sent_at))
        self.sink.write(events)
        self.snapshots.keep([*events, *(e for b in batches for e in b.events)])
        for e in [*events, *(e for b in batches for e in b.events)]:
            if e.kind == "opened":
                m.ALERTS.labels(e.episode.stream_id, e.episode.profile).inc()
                m.OPEN_EPISODES.inc()
            elif e.kind == "closed":
                m.OPEN_EPISODES.dec()

    def count_drops(self, sub: Subscriber) -> None:
        """Publish drop counters, and the recordings their frontends said ended (``sub.ended``: the
        daemon names such a stream ended, not out), as deltas (the sources keep running totals)."""
        for stream, total in sub.ended.items():
            if total > self.seen_ends[stream]:
                self.metrics.STREAM_ENDS.labels(stream).inc(total - self.seen_ends[stream])
                self.seen_ends[stream] = total
        totals: Counter[str] = Counter(sub.drops)
        totals.update({f"reset_{k}": v for k, v in self.pipeline.retired_resets.items()})
        for window in self.pipeline.windows.values():
            totals.update({f"reset_{k}": v for k, v in window.resets.items()})
            totals["too_short_segment"] += window.segments["too_short"]
        totals["batcher_overflow"] = self.pipeline.batcher.dropped
        totals["too_many_people"] = self.pipeline.people_refused
        totals["nan_scores"] = self.pipeline.tracker.counts["nan_scores"]
        totals["late_windows"] = self.pipeline.tracker.counts["late_windows"]
        for reason, total in totals.items():
            counter = self.metrics.DROPS.labels(
                reason
            )  # the worker's own reasons: a series at 0 from the start
            if total > self.seen_drops[reason]:
                counter.inc(total - self.seen_drops[reason])
                self.seen_drops[reason] = total
