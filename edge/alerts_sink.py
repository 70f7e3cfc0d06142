"""Alert episodes -> rows of the alert log, off the scoring loop and without ever losing one.

The scoring loop hands every episode event to :meth:`AlertSink.write`, which turns it into the
episode's row as it now stands (:class:`~edge.store.NewAlert`, found again by its episode key) and
puts it on a bounded queue; it never waits for a database. A writer thread puts each row into the
local outbox (:mod:`edge.alert_outbox`, durable at once) and delivers the outbox to the alert log,
oldest first; while the log is unreachable or locked, rows wait in the outbox and delivery is
retried with back-off, one log line when the outage starts and one when it ends. At start the
outbox left by a previous worker is delivered first. At shutdown the queue is drained into the
outbox and delivered once more; whatever is still undelivered waits there for the next start.

Times: episodes are measured on the source clock (a camera's wall clock, a video's position); a
row's ``started_at`` / ``ended_at`` are wall-clock UTC, shifted by the delay between a window's
source time and its publication, so a replayed video's alerts carry the time it was watched.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from config.store import StoreConfig
from edge.alert_outbox import AlertOutbox
from edge.episodes import Episode, EpisodeEvent, KeptWindow
from edge.store import AlertRecord, AlertStore, NewAlert
from edge.store.models import StreamStatus

log = logging.getLogger("haad.alerts")
RETRY_S = (1.0, 30.0)  # first and longest wait between two delivery attempts during an outage


@dataclass(frozen=True)
class _Status:
    rows: list[StreamStatus]


@dataclass(frozen=True)
class Unfinished:
    """An episode a previous worker left open: as the tracker resumes it, and the offset between its
    rows' wall clock and its source clock."""

    episode: Episode
    offset_s: float


class AlertSink:
    """``write`` from the scoring loop; ``close`` once at the end (drains, delivers, stops)."""

    def __init__(
        self,
        cfg: StoreConfig,
        outbox: Path,
        *,
        model_version: str,
        profile_versions: Mapping[str, int] | Callable[[str], int] = lambda _: 0,
        max_queue: int = 10_000,
        store_factory: Callable[[StoreConfig], AlertStore] = AlertStore,
    ) -> None:
        self.cfg = cfg
        self.outbox_path = Path(outbox)
        self.model_version = model_version
        self.profile_version = (
            profile_versions if callable(profile_versions) else (lambda name: profile_versions.get(name, 0))
        )
        self.offsets: dict[str, float] = {}  # episode key -> wall clock minus source clock
        self.opened = 0
        self.delivered = 0
        # alert rows, the streams' live status (kept only if the log takes it), or None: stop
        self._queue: queue.Queue[list[NewAlert] | _Status | None] = queue.Queue(max_queue)
        self._store_factory = store_factory
        self._unfinished: list[Unfinished] | None = None
        self._unfinished_ready = threading.Event()
        self._streams: Sequence[str] = ()
        self._thread = threading.Thread(target=self._run, name="haad-alert-writer", daemon=True)

    # --- the scoring loop's side -------------------------------------------------------------------

    def start(self, streams: Sequence[str]) -> None:
        """Start the writer; it looks for episodes of ``streams`` a previous worker left open."""
        self._streams = tuple(streams)
        self._thread.start()

    def unfinished(self, timeout_s: float = 0.0) -> list[Unfinished] | None:
        """Episodes a previous worker left open, once the writer has read them (None until then).
        Each is returned once."""
        if not self._unfinished_ready.wait(timeout_s) or self._unfinished is None:
            return None
        found, self._unfinished = self._unfinished, []
        for u in found:
            self.offsets[u.episode.episode_id] = u.offset_s
        return found

    def write(self, events: Sequence[EpisodeEvent]) -> None:
        """Queue the rows ``events`` leave their episodes in; never blocks."""
        rows: dict[str, NewAlert] = {}
        for event in events:
            ep = event.episode
            # At its opening, the deciding window is the episode's last hot one: it ends at ``ep.end``.
            self.offsets.setdefault(ep.episode_id, event.trigger_sent_at - ep.end)
            rows[ep.episode_id] = self._alert(ep, closed=event.kind == "closed")
            if event.kind == "opened":
                self.opened += 1
                log.warning(
                    "ALERT stream=%s profile=%s score=%.3f threshold=%.3f",
                    ep.stream_id, ep.profile, ep.peak_score, ep.threshold,
                    extra={"stream": ep.stream_id, "profile": ep.profile, "episode": ep.episode_id},
                )  # fmt: skip
            else:
                self.offsets.pop(ep.episode_id, None)
        if not rows:
            return
        try:
            self._queue.put_nowait(list(rows.values()))
        except queue.Full:
            # Only if the local disk itself stalls: keep the alerts, at the cost of this one wait.
            log.error("alert queue full; writing %d alert(s) to the outbox from the scoring loop", len(rows))
            spill = AlertOutbox(self.outbox_path)
            try:
                spill.put(list(rows.values()))
            finally:
                spill.close()

    def write_status(self, rows: list[StreamStatus]) -> None:
        """Queue the streams' live state (edge.live_status); dropped when the queue or the log is busy."""
        try:
            self._queue.put_nowait(_Status(rows))
        except queue.Full:
            pass

    def close(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued (waiting at most ``timeout_s`` for the alert log), then stop."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join(timeout_s + 5.0)
        if self._thread.is_alive():
            log.error("the alert writer did not finish within %.0f s; undelivered alerts stay in %s",
                      timeout_s, self.outbox_path)  # fmt: skip

    # --- the writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        outbox = AlertOutbox(self.outbox_path)
        delivery = _Delivery(self.cfg, self._store_factory, outbox)
        taken: list[NewAlert] = []  # off the queue, not yet in the outbox (only if the disk fails)
        stopping = False
        try:
            while True:
                items = self._take(delivery.wait_s() if len(outbox) else 1.0)
                stopping = stopping or None in items
                taken += [a for item in items if isinstance(item, list) for a in item]
                statuses = [item for item in items if isinstance(item, _Status)]
                if taken:
                    try:
                        outbox.put(taken)
                        taken = []
                    except (sqlite3.Error, OSError) as e:
                        log.error("cannot write the alert outbox %s (%s); retrying", self.outbox_path, e)
                if len(outbox):
                    self.delivered += delivery.attempt(final=stopping)
                if statuses and delivery.store is not None and not len(outbox):
                    delivery.status(statuses[-1].rows)  # only the newest matters
                if self._unfinished is None:
                    self._find_unfinished(delivery, outbox)
                if stopping:
                    break
        finally:
            waiting = len(outbox) + len(taken)
            if waiting:
                log.error("%d alert(s) not yet in the alert log; they wait in %s and are delivered at "
                          "the next start", waiting, self.outbox_path)  # fmt: skip
            delivery.close()
            outbox.close()
            self._unfinished_ready.set()

    def _take(self, wait_s: float) -> list[list[NewAlert] | _Status | None]:
        try:
            items = [self._queue.get(timeout=max(wait_s, 0.0))]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def _find_unfinished(self, delivery: _Delivery, outbox: AlertOutbox) -> None:
        """Open episodes of our streams in the alert log (once it is reachable) and in the outbox
        (at once; its states are newer)."""
        if self._unfinished is not None or not self._streams:
            self._unfinished = self._unfinished if self._unfinished is not None else []
            self._unfinished_ready.set()
            return
        if len(outbox):
            self.delivered += delivery.attempt(final=False)
        if not delivery.connect():
            return  # the log is down: try again once it is back
        assert delivery.store is not None
        try:
            stored = delivery.store.open_alerts(self._streams)
        except Exception as e:  # noqa: BLE001 - the log went down again: look once it is back
            delivery.failed(e)
            return
        found = {r.episode_key: _unfinished(r) for r in stored}
        found.update({a.episode_key: _unfinished(a) for a in outbox.open_alerts(self._streams)})
        self._unfinished = list(found.values())
        self._unfinished_ready.set()
        if found:
            log.warning("%d alert episode(s) were left open by a previous worker; resuming or closing them",
                        len(found))  # fmt: skip

    def _alert(self, ep: Episode, *, closed: bool) -> NewAlert:
        offset = self.offsets[ep.episode_id]
        kept = ep.windows  # the store keeps the first, the peak and the latest of them
        return NewAlert(
            episode_key=ep.episode_id,
            stream_id=ep.stream_id,
            profile=ep.profile,
            profile_version=self.profile_version(ep.profile),
            started_at=_utc(ep.start + offset),
            ended_at=_utc(ep.end + offset) if closed else None,
            peak_score=ep.peak_score,
            mean_score=ep.mean_score,
            threshold=ep.threshold,
            n_windows=ep.n_windows,
            model_version=self.model_version,
            windows=np.stack([w.frames for w in kept]).astype(np.float32),
            window_times=np.array([[w.t_start, w.t_end] for w in kept], dtype=np.float64),
            window_scores=np.array([w.score for w in kept], dtype=np.float64),
        )


class _Delivery:
    """Outbox -> alert log, with back-off and one log line per outage."""

    def __init__(self, cfg: StoreConfig, factory: Callable[[StoreConfig], AlertStore], outbox: AlertOutbox):
        self.cfg, self.factory, self.outbox = cfg, factory, outbox
        self.store: AlertStore | None = None
        self.down_since: float | None = None
        self.backoff_s = 0.0
        self.next_at = 0.0

    def wait_s(self) -> float:
        return max(0.0, self.next_at - time.monotonic())

    def connect(self, *, final: bool = False) -> bool:
        """Whether the alert log is open (opening it unless a back-off is running)."""
        if self.store is None and (final or time.monotonic() >= self.next_at):
            try:
                self.store = self.factory(self.cfg)
            except Exception as e:  # noqa: BLE001 - an unreachable server, a locked file, a failed upgrade
                self.failed(e)
        return self.store is not None

    def attempt(self, *, final: bool) -> int:
        """Deliver the outbox; how many alerts were delivered. ``final``: ignore the back-off."""
        if not final and time.monotonic() < self.next_at:
            return 0
        if not self.connect(final=final):
            return 0
        assert self.store is not None
        try:
            delivered = self.outbox.deliver(self.store)
        except Exception as e:  # noqa: BLE001 - any driver or migration error means: not delivered yet
            self.failed(e)
            return 0
        if self.down_since is not None:
            log.warning("alert log %s reachable again after %.0f s; the waiting alerts are delivered",
                        self.cfg_url(), time.monotonic() - self.down_since)  # fmt: skip
        self.down_since, self.backoff_s, self.next_at = None, 0.0, 0.0
        return delivered

    def failed(self, e: Exception) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error("alert log %s unavailable (%s: %s); alerts wait in %s until it is back",
                      self.cfg_url(), type(e).__name__, str(e).splitlines()[0] if str(e) else "",
                      self.outbox.path)  # fmt: skip
        if self.store is not None:
            self.store.close()
            self.store = None
        first, most = RETRY_S
        self.backoff_s = min(most, self.backoff_s * 2 if self.backoff_s else first)
        self.next_at = time.monotonic() + self.backoff_s

    def status(self, rows: list[StreamStatus]) -> None:
        assert self.store is not None
        try:
            self.store.write_stream_status(rows)
        except Exception as e:  # noqa: BLE001 - a live view can wait for the next rows
            self.failed(e)

    def cfg_url(self) -> str:
        from bus.logs import redact_url

        return redact_url(self.cfg.url)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _unfinished(row: AlertRecord | NewAlert) -> Unfinished:
    """A stored open alert as the episode the tracker resumes (source times from its windows)."""
    assert row.windows is not None and row.window_times is not None
    times = row.window_times
    scores = row.window_scores if row.window_scores is not None else np.full(len(times), row.peak_score)
    kept = tuple(
        KeptWindow(float(t0), float(t1), float(s), w.astype(np.float32))
        for (t0, t1), s, w in zip(times, scores, row.windows, strict=True)
    )
    peak = int(np.argmax(scores))
    episode = Episode(
        episode_id=row.episode_key,
        stream_id=row.stream_id,
        profile=row.profile,
        threshold=row.threshold,
        start=float(times[0, 0]),
        end=float(times[-1, 1]),
        peak_score=row.peak_score,
        peak_t_start=float(times[peak, 0]),
        peak_t_end=float(times[peak, 1]),
        mean_score=row.mean_score,
        n_windows=row.n_windows,
        n_hot=int(np.sum(scores > row.threshold)),
        windows=kept,
    )
    return Unfinished(episode, row.started_at.timestamp() - float(times[0, 0]))
