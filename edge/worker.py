"""The worker process: bus -> :class:`~edge.pipeline.Pipeline` -> alert log, with live profile reloads.

One worker serves every stream, so ready windows of all cameras share one encoder call. Its loop
polls the bus with a timeout (so the stop event is seen), scores what is due, writes alert events
as soon as they happen (an alert row at an episode's start, completed at its end) and, every
``reload_every_s``, picks up new or changed behaviour profiles without a restart. On stop it scores
what is queued, closes open episodes and flushes them to the store before it exits.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from multiprocessing.synchronize import Event
from pathlib import Path

import numpy as np

from config.edge import EdgeConfig
from edge.alerts_sink import AlertSink
from edge.backends import EncoderBackend, make_backend
from edge.bus import Subscriber
from edge.live_status import StatusRecorder
from edge.pipeline import Pipeline, ScoredBatch
from edge.profiles import Profile, ProfileStore, ProfileWatcher
from edge.scoring import calibrate_threshold

log = logging.getLogger("haad.worker")
FPS_WINDOW_S = 5.0


def for_backend(profile: Profile, backend: EncoderBackend, cfg: EdgeConfig) -> Profile:
    """``profile`` as the running encoder sees it: re-embedded (and recalibrated) when it was enrolled
    with another encoder, so embeddings of different models are never compared."""
    if profile.model_version == backend.model_version:
        return profile
    emb = backend.embed(profile.windows.astype(np.float32))
    cal = calibrate_threshold(
        emb,
        profile.groups,
        target_far=cfg.worker.calibration.target_far,
        margin=cfg.worker.calibration.margin,
    )
    log.warning(
        "profile %s v%d was enrolled with encoder %s; re-embedded for %s (threshold %.3f)",
        profile.name, profile.version, profile.model_version, backend.model_version, cal.threshold,
    )  # fmt: skip
    meta = {**profile.meta, "model_version": backend.model_version, "calibration": cal.to_dict()}
    return Profile(profile.name, profile.version, emb, profile.groups, profile.windows, cal.threshold, meta)


class ProfileSet:
    """The profiles the worker scores against, refreshed from the profile store."""

    def __init__(self, cfg: EdgeConfig, backend: EncoderBackend) -> None:
        self.cfg, self.backend = cfg, backend
        wanted = {p for s in cfg.streams for p in s.profiles}
        self.watcher = ProfileWatcher(ProfileStore(Path(cfg.profiles_dir)), wanted or None)
        self.current: dict[str, Profile] = {}

    def refresh(self) -> bool:
        """Load new or changed profiles; True when the set changed."""
        changed, failed = self.watcher.poll()
        for name in failed:
            log.error("profile %s could not be loaded; keeping the previous version if any", name)
        for p in changed:
            try:
                self.current[p.name] = for_backend(p, self.backend, self.cfg)
                log.info("profile %s v%d loaded (threshold %.3f)", p.name, p.version, p.threshold)
            except ValueError as e:
                log.error("profile %s v%d rejected: %s", p.name, p.version, e)
        return bool(changed)

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
    cfg: EdgeConfig, stop: Event, *, ready: Event | None = None, encoder: Path | None = None
) -> None:
    """The worker process's body: runs until ``stop`` is set, then flushes every alert.

    ``ready`` is set once the model is loaded and the bus is listening."""
    from edge import metrics  # after the daemon set up multiprocess metrics

    backend = make_backend(cfg.worker.backend, encoder or (Path(cfg.encoder) if cfg.encoder else None))
    profiles = ProfileSet(cfg, backend)
    profiles.refresh()
    pipeline = Pipeline(
        cfg.worker,
        backend,
        profiles.profiles(),
        stream_profiles={s.id: s.profiles for s in cfg.streams if s.profiles},
    )
    metrics.PROFILES_LOADED.set(len(pipeline.profile_names))
    sink = AlertSink(
        cfg.store,
        model_version=backend.model_version,
        profile_versions=lambda name: profiles.current[name].version if name in profiles.current else 0,
    )
    rates = StreamRates()
    status = StatusRecorder(sink.store, cfg.status_every_s)  # live view of the review server
    seen_drops: Counter[str] = Counter()
    next_housekeeping = time.monotonic()
    log.info("worker up: backend %s, model %s, profiles %s", backend.name, backend.model_version,
             list(pipeline.profile_names))  # fmt: skip
    with Subscriber.from_config(cfg.bus) as sub:
        if ready is not None:
            ready.set()
        try:
            while not stop.is_set():
                wait = pipeline.wait_s()
                timeout_ms = 200 if wait is None else int(min(wait, 0.2) * 1000)
                now = time.monotonic()
                for frame in sub.recv_batch(max_frames=4096, timeout_ms=timeout_ms):
                    pipeline.push(frame)
                    rates.add(frame.stream_id, now)
                    metrics.FRAMES_RECEIVED.labels(frame.stream_id).inc()
                batches = pipeline.run_due()
                _commit(batches, sink, metrics)
                status.observe(batches, pipeline)
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + cfg.reload_every_s
                    pipeline.reset_stale()
                    if profiles.refresh():
                        sink.write(pipeline.set_profiles(profiles.profiles()))
                        metrics.PROFILES_LOADED.set(len(pipeline.profile_names))
                    for stream, fps in rates.fps(time.monotonic()).items():
                        metrics.STREAM_FPS.labels(stream).set(fps)
                    status.maybe_flush(
                        rates.fps(time.monotonic()), {n: p.version for n, p in profiles.current.items()}
                    )
                    _count_drops(sub, pipeline, seen_drops, metrics)
        finally:
            sink.write(pipeline.close_all())
            _count_drops(sub, pipeline, seen_drops, metrics)
            sink.close()
            log.info(
                "worker stopped: %d windows scored, %d alerts", pipeline.stats.windows_scored, sink.opened
            )


def _commit(batches: Sequence[ScoredBatch], sink: AlertSink, metrics) -> None:  # type: ignore[no-untyped-def]
    for b in batches:
        started = time.perf_counter()
        sink.write(b.events)
        done = time.time()
        if b.windows:
            metrics.WINDOWS_SCORED.inc(len(b.windows))
            metrics.BATCHES.inc()
            metrics.SCORING_SECONDS.observe(time.perf_counter() - started)
            for w in b.windows:
                metrics.WINDOW_LATENCY.observe(max(0.0, done - w.last_sent_at))
        for e in b.events:
            if e.kind == "opened":
                metrics.ALERTS.labels(e.episode.stream_id, e.episode.profile).inc()
                metrics.OPEN_EPISODES.inc()
            else:
                metrics.OPEN_EPISODES.dec()


def _count_drops(sub: Subscriber, pipeline: Pipeline, seen: Counter[str], metrics) -> None:  # type: ignore[no-untyped-def]
    """Publish drop counters as deltas (the sources keep running totals)."""
    totals: Counter[str] = Counter(sub.drops)
    for window in pipeline.windows.values():
        totals.update({f"reset_{k}": v for k, v in window.resets.items()})
    totals["batcher_overflow"] = pipeline.batcher.dropped
    totals["nan_scores"] = pipeline.tracker.counts["nan_scores"]
    totals["late_windows"] = pipeline.tracker.counts["late_windows"]
    for reason, total in totals.items():
        if total > seen[reason]:
            metrics.DROPS.labels(reason).inc(total - seen[reason])
            seen[reason] = total
