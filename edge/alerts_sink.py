"""Alert episodes -> rows of the alert log, off the scoring loop and without ever losing one.

The scoring loop hands every episode event to :meth:`AlertSink.write`, which turns it into the
episode's row as it now stands (:class:`~edge.store.NewAlert`, found again by its episode key),
numbers it (a revision, so an older state never replaces a newer one) and leaves it in memory; it
never waits for a disk or a database. Two threads take it from there:

* the **outbox writer** puts every state into the local outbox (:mod:`edge.alert_outbox`, on disk
  when the write returns). It touches nothing but that file, so no lock, hang or outage of the alert
  log can hold it up. When the file cannot be written (a full disk, an I/O error) it says so once
  (log, :meth:`AlertSink.health`), keeps the states in memory and tries again with back-off;
* the **delivery** loop writes the outbox's undelivered states to the alert log, oldest first (those
  this worker put there from memory, not read back), and those the outbox could not take straight
  from memory. Every database call runs under a deadline
  (``store.timeout_s``) that cuts its connection when a server stops answering; while the log is
  unreachable or locked, delivery is retried with back-off, one log line when the outage starts and
  one when it ends. A state the log refuses (a value it cannot hold) is set aside with its outbox
  row, not retried: those behind it go on (:mod:`edge.alert_outbox`).

Resuming: :meth:`AlertSink.start` reads the episodes a previous worker left open in the outbox
before this worker writes anything, and the delivery loop, before it delivers anything, those left
open only in the log; keys this worker wrote are never handed back (:meth:`AlertSink.unfinished`).

Shutdown (:meth:`AlertSink.close`) saves and delivers within a bound, then says exactly what is
where: delivered, waiting in the outbox for the next start, or (disk and log both failing) lost.

Times: episodes are measured on the source clock (a camera's wall clock, a video's position); a
row's ``started_at`` / ``ended_at`` are wall-clock UTC, shifted by the delay between a window's
source time and its publication, so a replayed video's alerts carry the time it was watched.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from config.redaction import redact_url
from config.store import StoreConfig
from edge.alert_outbox import AlertOutbox, State, first_line, recover_at_start, sets_aside, write_refusals
from edge.episodes import Episode, EpisodeEvent, KeptWindow
from edge.store import AlertRecord, AlertStore, NewAlert
from edge.store.engine import DEADLINES, LogMoved, companions_left
from edge.store.models import StreamStatus

log = logging.getLogger("haad.alerts")
RETRY_S = (1.0, 30.0)  # first and longest wait between two attempts during an outage
BATCH = 64  # states per delivery transaction, at most (_Delivery.batch)
# States kept in memory for delivery after the outbox took them (the others are read back).
SAVED_KEPT = 4 * BATCH


@dataclass(frozen=True)
class Unfinished:
    """An episode a previous worker left open: as the tracker resumes it, and the offset between its
    rows' wall clock and its source clock, and the profile version it was opened under."""

    episode: Episode
    offset_s: float
    profile_version: int = 0


@dataclass(frozen=True)
class SinkHealth:
    """unsaved: alert states only in memory (the outbox cannot take them); waiting: states in the
    outbox not yet in the alert log; outbox_error / log_error: why, while that lasts."""

    unsaved: int
    waiting: int
    outbox_error: str | None
    log_error: str | None


class AlertSink:
    """``start`` once, ``write`` from the scoring loop, ``close`` once at the end."""

    def __init__(
        self,
        cfg: StoreConfig,
        outbox: Path,
        *,
        model_version: str,
        profile_versions: Mapping[str, int] | Callable[[str], int] = lambda _: 0,
        host: str = "",
    ) -> None:
        self.cfg = cfg
        self.host = host
        self.outbox_path = Path(outbox)
        self.model_version = model_version
        self.profile_version = (
            profile_versions if callable(profile_versions) else (lambda name: profile_versions.get(name, 0))
        )
        self.offsets: dict[str, float] = {}  # episode key -> wall clock minus source clock
        # episode key -> the profile version it opened under: like its threshold, it stays through a
        # reload, so an alert names the version whose threshold it was judged by.
        self.versions: dict[str, int] = {}
        self.opened = 0
        self.delivered = 0
        self._lock = threading.Condition()  # guards everything below; never held during I/O
        self._rev = 0
        self._unsaved: dict[str, State] = {}  # the newest state of each episode not yet in the outbox
        # The newest state of each episode this worker put into the outbox, until it is delivered, so
        # that delivery need not read back and decode what it already holds; oldest first, at most
        # SAVED_KEPT (delivery reads the others from the outbox, which stays the record).
        self._saved: dict[str, State] = {}
        self._known: set[str] = set()  # episode keys this worker wrote, resumed or found in the outbox
        self._status: list[StreamStatus] | None = None  # the streams' live state, newest only
        self._stopping = False
        self._deadline = float("inf")  # monotonic time by which a stopping sink gives up
        self._outbox_error: str | None = None
        self._log_error: str | None = None
        self._waiting = 0
        self._unfinished: list[Unfinished] = []
        self._set_asides = sets_aside(self.outbox_path)
        self._log_read = threading.Event()  # the log's open episodes were read (or could not be)
        self._streams: tuple[str, ...] = ()
        self._writer = threading.Thread(target=self._write_loop, name="haad-outbox-writer", daemon=True)
        self._delivery = threading.Thread(target=self._deliver_loop, name="haad-alert-delivery", daemon=True)

    # --- the scoring loop's side -------------------------------------------------------------------

    def start(self, streams: Sequence[str]) -> None:
        """Read the episodes of ``streams`` a previous worker left open in the outbox, then start
        writing and delivering."""
        self._streams = tuple(streams)
        try:
            recover_at_start(self.outbox_path)  # nothing has it open yet: the worker's lock is held
            outbox = AlertOutbox(self.outbox_path)
            try:
                self._rev = outbox.last_rev()
                left = outbox.open_alerts(self._streams) if self._streams else []
                in_outbox = outbox.episode_keys()
            finally:
                outbox.close()
        except (sqlite3.Error, OSError) as e:
            log.error("cannot read the alert outbox %s (%s); no episode left open there is resumed",
                      self.outbox_path, e)  # fmt: skip
            left, in_outbox = [], set()
        self._hand_over(left)
        self._known |= in_outbox  # their newest states are there, not in the log
        self._writer.start()
        self._delivery.start()

    def unfinished(self, wait_s: float = 0.0) -> list[Unfinished]:
        """Episodes a previous worker left open, not returned before: those of the outbox at once,
        those found only in the alert log once it answered (waiting up to ``wait_s`` for that)."""
        self._log_read.wait(wait_s)
        with self._lock:
            found, self._unfinished = self._unfinished, []
        for u in found:
            self.offsets[u.episode.episode_id] = u.offset_s
            self.versions[u.episode.episode_id] = u.profile_version
        return found

    def write(self, events: Sequence[EpisodeEvent]) -> None:
        """Take the rows ``events`` leave their episodes in; never blocks on a disk or a database."""
        last: dict[str, EpisodeEvent] = {}  # an episode's row is what its last event leaves
        for event in events:
            ep = event.episode
            # At its opening, the deciding window is the episode's last hot one: it ends at ``ep.end``.
            self.offsets.setdefault(ep.episode_id, event.trigger_sent_at - ep.end)
            self.versions.setdefault(ep.episode_id, self.profile_version(ep.profile))
            last[ep.episode_id] = event
            if event.kind == "opened":
                self.opened += 1
                log.warning(
                    "ALERT stream=%s person=%d profile=%s score=%.3f threshold=%.3f",
                    ep.stream_id, ep.person, ep.profile, ep.peak_score, ep.threshold,
                    extra={"stream": ep.stream_id, "person": ep.person, "profile": ep.profile,
                           "episode": ep.episode_id},
                )  # fmt: skip
        # One row per episode, however many of its windows the batch held (a row copies its windows).
        rows = {key: self._alert(e.episode, closed=e.kind == "closed") for key, e in last.items()}
        for key, e in last.items():
            if e.kind == "closed":
                self.offsets.pop(key, None)
                self.versions.pop(key, None)
        if not rows:
            return
        with self._lock:
            for key, row in rows.items():
                self._rev += 1
                self._unsaved[key] = (self._rev, row)
                self._known.add(key)
            self._lock.notify_all()

    def write_status(self, rows: list[StreamStatus]) -> None:
        """The streams' live state (edge.live_status), written when the log is free; only the newest counts."""
        with self._lock:
            self._status = rows
            self._lock.notify_all()

    def health(self) -> SinkHealth:
        with self._lock:
            return SinkHealth(len(self._unsaved), self._waiting, self._outbox_error, self._log_error)

    def close(self, timeout_s: float = 30.0) -> None:
        """Save and deliver what is left, waiting at most ``timeout_s``; then log what is where."""
        if not self._writer.is_alive() and not self._delivery.is_alive():
            return
        with self._lock:
            self._stopping = True
            self._deadline = time.monotonic() + timeout_s
            self._lock.notify_all()
        self._writer.join(timeout_s + 1.0)
        self._delivery.join(max(0.0, self._deadline - time.monotonic()) + 1.0)
        if self._delivery.is_alive() and self._delivery.ident is not None:  # inside a call that hangs
            DEADLINES.cut_now(self._delivery.ident)
            self._delivery.join(5.0)
        self._report()

    # --- the outbox writer ---------------------------------------------------------------------------

    def _write_loop(self) -> None:
        outbox: AlertOutbox | None = None
        backoff = _Backoff()
        try:
            while True:
                with self._lock:
                    while not (self._unsaved and backoff.due()):
                        if self._stopping and (not self._unsaved or time.monotonic() >= self._deadline):
                            return
                        wait = backoff.wait_s() if self._unsaved else None
                        if self._stopping:
                            wait = min(wait if wait is not None else 1.0, self._deadline - time.monotonic())
                        self._lock.wait(wait)
                    batch = dict(self._unsaved)
                try:
                    if outbox is None:
                        outbox = AlertOutbox(self.outbox_path)
                    outbox.put(list(batch.values()))
                except (sqlite3.Error, OSError) as e:
                    if outbox is not None:
                        outbox.close()
                        outbox = None
                    self._outbox_failed(e, len(batch))
                    backoff.failed()
                    continue
                backoff.reset()
                with self._lock:
                    for key, (rev, row) in batch.items():
                        if self._unsaved.get(key, (None,))[0] == rev:
                            del self._unsaved[key]
                        if self._saved.get(key, (-1,))[0] < rev:
                            self._saved.pop(key, None)  # to the end: the newest are kept longest
                            self._saved[key] = (rev, row)
                    while len(self._saved) > SAVED_KEPT:
                        del self._saved[next(iter(self._saved))]
                    if self._outbox_error is not None:
                        log.warning("the alert outbox %s takes alerts again", self.outbox_path)
                        self._outbox_error = None
                    self._lock.notify_all()  # the delivery loop has new states in the outbox
                self._put_again_if_set_aside()
        finally:
            if outbox is not None:
                outbox.close()
            with self._lock:  # a stopping delivery loop ends once the writer has: not a second later
                self._lock.notify_all()

    def _put_again_if_set_aside(self) -> None:
        """The states this worker holds go back to be put again when the outbox file was set aside
        while open (cut short: edge.alert_outbox.sets_aside); the file at the path lacks them."""
        count = sets_aside(self.outbox_path)
        with self._lock:
            if count == self._set_asides:
                return
            self._set_asides = count
            for key, state in self._saved.items():
                if self._unsaved.get(key, (-1,))[0] < state[0]:
                    self._unsaved[key] = state
            self._lock.notify_all()

    def _outbox_failed(self, e: Exception, states: int) -> None:
        with self._lock:
            first = self._outbox_error is None
            self._outbox_error = f"{type(e).__name__}: {e}"
            self._lock.notify_all()  # the delivery loop takes them from memory now
        if first:
            log.error(
                "cannot write the alert outbox %s (%s); %d alert state(s) are kept in memory and delivered "
                "straight to the alert log, lost if this worker dies before; retrying",
                self.outbox_path, self._outbox_error, states,
            )  # fmt: skip

    # --- delivery --------------------------------------------------------------------------------------

    def _deliver_loop(self) -> None:
        delivery = _Delivery(self.cfg, self.outbox_path)
        read_log = bool(self._streams)  # the log's open episodes are still to be read
        idle, stop_seen = False, False
        next_round = 0.0  # monotonic time before which no round starts (deliver_every_s), unless stopping
        try:
            while True:
                with self._lock:
                    if idle:
                        wait = delivery.wait_s()
                        self._lock.wait(
                            min(wait, self._deadline - time.monotonic()) if self._stopping else wait
                        )
                    while not self._stopping and (rest := next_round - time.monotonic()) > 0:
                        self._lock.wait(rest)
                    stopping, status = self._stopping, self._status
                if stopping and not stop_seen:  # one attempt at once, then the back-off again
                    stop_seen = True
                    delivery.backoff.reset()
                if stopping and time.monotonic() >= self._deadline:
                    return
                idle = True
                if not delivery.backoff.due():
                    self._note(delivery)
                    continue
                if not delivery.connect(self.cfg.busy_timeout_s + self.cfg.timeout_s):
                    self._note(delivery)
                    self._log_read.set()  # nobody waits for a log that is down
                    continue
                if read_log:
                    read_log = not self._read_log_unfinished(delivery)
                done = self._deliver_round(delivery)
                self._note(delivery)
                if done is None:  # the log failed
                    continue
                wrote, more = done
                if wrote and not more:
                    next_round = time.monotonic() + self.cfg.deliver_every_s
                if more:
                    idle = False
                elif status is not None and delivery.write_status(status, self._streams, self.cfg.timeout_s):
                    with self._lock:
                        if self._status is status:
                            self._status = None
                if stopping and not wrote and not more and not self._writer.is_alive():
                    return
        finally:
            delivery.close()
            self._log_read.set()

    def _deliver_round(self, delivery: _Delivery) -> tuple[int, bool] | None:
        """Deliver one batch: (states written, whether more wait now); None when the log failed."""
        with self._lock:
            saved = dict(self._saved)
            # States the outbox could not take go straight from memory.
            from_memory = list(self._unsaved.values()) if self._outbox_error is not None else []
        from_outbox = delivery.undelivered(saved)
        self._put_again_if_set_aside()
        newest: dict[str, State] = {}
        for rev, a in [*from_outbox, *from_memory]:
            if rev > newest.get(a.episode_key, (-1,))[0]:
                newest[a.episode_key] = (rev, a)
        todo = [(rev, a) for rev, a in newest.values() if not delivery.has(a.episode_key, rev)]
        batch = todo[: delivery.batch]
        refused = delivery.write(batch, self.cfg.timeout_s) if todo else []
        if refused is None:
            return None
        self.delivered += len(batch) - len(refused)
        # Set aside for a human like a row that cannot be read, so none waits behind them; one held only
        # in memory (the outbox failing) stays there, tried again alone at each round.
        outboxed = {(a.episode_key, rev) for rev, a in from_outbox}
        aside = [((rev, a), why) for (rev, a), why in refused if (a.episode_key, rev) in outboxed]
        delivery.set_aside(aside)
        delivery.mark([(a.episode_key, rev) for rev, a in from_outbox if delivery.has(a.episode_key, rev)])
        with self._lock:
            for rev, a in from_memory:
                if delivery.has(a.episode_key, rev) and self._unsaved.get(a.episode_key, (None,))[0] == rev:
                    del self._unsaved[a.episode_key]
            for _, a in from_outbox:
                if (key := a.episode_key) in self._saved and delivery.has(key, self._saved[key][0]):
                    del self._saved[key]
            for (rev, a), _ in aside:  # never put back (_put_again_if_set_aside): the file holds it
                if self._saved.get(a.episode_key, (rev + 1,))[0] <= rev:
                    del self._saved[a.episode_key]
            self._waiting = delivery.waiting()
        return len(batch), len(todo) > len(batch) or len(from_outbox) == BATCH

    def _read_log_unfinished(self, delivery: _Delivery) -> bool:
        """Hand over the episodes of our streams open in the log that neither this worker nor the
        outbox knows; whether the log answered."""
        stored = delivery.open_alerts(self._streams, self.cfg.timeout_s)
        if stored is None:
            return False  # the log failed: look again once it is back
        with self._lock:
            known = set(self._known)
        self._hand_over([r for r in stored if r.episode_key not in known])
        self._log_read.set()
        return True

    def _hand_over(self, rows: Sequence[AlertRecord | NewAlert]) -> None:
        with self._lock:
            fresh = [r for r in rows if r.episode_key not in self._known]
            self._known.update(r.episode_key for r in fresh)
            self._unfinished += [_unfinished(r) for r in fresh]
        if fresh:
            log.warning("%d alert episode(s) were left open by a previous worker; resuming or closing them",
                        len(fresh))  # fmt: skip

    def _note(self, delivery: _Delivery) -> None:
        # While the log is down no round counts the outbox: counted here, what waits is reported.
        waiting = delivery.waiting() if delivery.error is not None else None
        with self._lock:
            self._log_error = delivery.error
            if waiting is not None:
                self._waiting = waiting

    def _report(self) -> None:
        """Say exactly where every alert state is now."""
        with self._lock:
            unsaved = len(self._unsaved)
            why = self._outbox_error
        try:
            outbox = AlertOutbox(self.outbox_path, timeout_s=2.0)
            try:
                waiting: int | None = outbox.waiting()
            finally:
                outbox.close()
        except (sqlite3.Error, OSError):
            waiting = None
        if waiting:
            log.error("%d alert state(s) are not in the alert log yet; they wait in %s and are delivered at "
                      "the next start (or by `haad alerts deliver`)", waiting, self.outbox_path)  # fmt: skip
        if unsaved:
            log.critical("%d alert state(s) could be neither saved in %s (%s) nor delivered to the alert log "
                         "in time; they are lost", unsaved, self.outbox_path, why)  # fmt: skip
        if not waiting and not unsaved:
            log.info("alert writer stopped: every alert is in the alert log (%d delivered)", self.delivered)

    def _alert(self, ep: Episode, *, closed: bool) -> NewAlert:
        offset = self.offsets[ep.episode_id]
        start, end = ep.action_span
        kept = ep.windows  # the store keeps the first, the peak and the latest of them
        return NewAlert(
            episode_key=ep.episode_id,
            stream_id=ep.stream_id,
            profile=ep.profile,
            profile_version=self.versions[ep.episode_id],
            started_at=_utc(start + offset),
            ended_at=_utc(end + offset) if closed else None,
            peak_score=ep.peak_score,
            mean_score=ep.mean_score,
            threshold=ep.threshold,
            n_windows=ep.n_windows,
            model_version=self.model_version,
            windows=np.stack([w.frames for w in kept]).astype(np.float32, copy=False),
            window_times=np.array([[w.t_start, w.t_end] for w in kept], dtype=np.float64),
            window_scores=np.array([w.score for w in kept], dtype=np.float64),
            person=ep.person,
            box=ep.box,
            host=self.host,
            timeline=np.array(ep.timeline, dtype=np.float64).reshape(-1, 2),
            others=ep.others,
            nearest=ep.nearest,
        )


class _Backoff:
    """Waits between attempts during an outage: RETRY_S[0] doubling to RETRY_S[1]."""

    def __init__(self) -> None:
        self.wait = 0.0
        self.next_at = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self.next_at

    def wait_s(self) -> float:
        return max(0.0, self.next_at - time.monotonic())

    def failed(self) -> None:
        first, most = RETRY_S
        self.wait = min(most, self.wait * 2 if self.wait else first)
        self.next_at = time.monotonic() + self.wait

    def reset(self) -> None:
        self.wait, self.next_at = 0.0, 0.0


class _Delivery:
    """The delivery loop's alert log and outbox reader. Every database call runs under a deadline;
    a failure closes the log, starts a back-off and is logged once per outage."""

    def __init__(self, cfg: StoreConfig, outbox: Path) -> None:
        self.cfg, self.outbox_path = cfg, outbox
        self.store: AlertStore | None = None
        self.outbox: AlertOutbox | None = None
        self.backoff = _Backoff()
        self.down_since: float | None = None
        self.error: str | None = None
        self.done: dict[str, int] = {}  # episode key -> newest revision delivered by this worker
        # States per transaction: halved at each failed write, one more after each that works, so a
        # backlog that a slow link cannot carry within the deadline in one transaction goes in
        # smaller ones (seldom cut again) instead of being cut and sent again whole for ever.
        self.batch = BATCH
        self.moved = False  # the SQLite log's file was deleted or replaced under it (LogMoved)

    def wait_s(self) -> float:
        return min(1.0, self.backoff.wait_s()) if self.down_since is not None else 1.0

    def has(self, key: str, rev: int) -> bool:
        return self.done.get(key, -1) >= rev

    def connect(self, timeout_s: float) -> bool:
        """Whether the alert log is open (opening it, schema upgrade included, within ``timeout_s``).
        After its SQLite file was deleted or replaced, the file at its path is opened (made) only once
        the old file's ``-wal`` and ``-shm`` are gone (removed, or haad restarted)."""
        if self.store is None:
            try:
                if self.moved and (left := companions_left(self.cfg.url)):
                    raise LogMoved(
                        f"the alert log {redact_url(self.cfg.url)} was deleted or replaced while haad had it "
                        f"open; {', '.join(map(str, left))} belong to the old file: restart haad (or remove them)"
                    )
                with DEADLINES.within(timeout_s):
                    self.store = AlertStore(self.cfg)
                self.moved = False
            except Exception as e:  # noqa: BLE001 - an unreachable server, a locked file, a failed upgrade
                self.failed(e)
        return self.store is not None

    def write(self, states: Sequence[State], timeout_s: float) -> list[tuple[State, str]] | None:
        """Write ``states`` to the log: those it refused (each tried alone), with why; None when it failed."""
        store = self.store
        assert store is not None

        def write(alerts: list[NewAlert]) -> None:
            with DEADLINES.within(timeout_s):
                store.write_alerts(alerts)

        try:
            written, refused = write_refusals(write, states)
        except Exception as e:  # noqa: BLE001 - any driver error means: not delivered yet
            self.batch = max(1, len(states) // 2)
            self.failed(e)
            return None
        self.batch = min(BATCH, self.batch + 1)
        for key, rev in written:
            self.done[key] = max(rev, self.done.get(key, -1))
        if self.down_since is not None:
            log.warning("alert log %s reachable again after %.0f s; the waiting alerts are delivered",
                        redact_url(self.cfg.url), time.monotonic() - self.down_since)  # fmt: skip
        self.down_since, self.error = None, None
        self.backoff.reset()
        return refused

    def open_alerts(self, streams: Sequence[str], timeout_s: float) -> list[AlertRecord] | None:
        assert self.store is not None
        try:
            with DEADLINES.within(timeout_s):
                return self.store.open_alerts(streams)
        except Exception as e:  # noqa: BLE001 - the log went down again
            self.failed(e)
            return None

    def write_status(self, rows: list[StreamStatus], streams: Sequence[str], timeout_s: float) -> bool:
        """Write the live state of this worker's ``streams``; their outdated rows go (AlertStore)."""
        assert self.store is not None
        try:
            with DEADLINES.within(timeout_s):
                self.store.write_stream_status(rows, streams=streams)
            return True
        except Exception as e:  # noqa: BLE001 - a live view can wait for the next rows
            self.failed(e)
            return False

    def undelivered(self, saved: Mapping[str, State]) -> list[State]:
        """The outbox's oldest undelivered states, each taken from ``saved`` (states this worker put
        there) when that holds its revision or a newer one, else read back; none while the outbox
        cannot be read."""
        try:
            if self.outbox is None:
                self.outbox = AlertOutbox(self.outbox_path)
            waiting = self.outbox.undelivered_revs(BATCH)
            held = {key: saved[key] for key, rev in waiting if saved.get(key, (-1,))[0] >= rev}
            stored = self.outbox.states([key for key, _ in waiting if key not in held])
        except (sqlite3.Error, OSError):
            self._drop_outbox()
            return []
        # An episode gone from the outbox meanwhile was delivered by another process.
        return [state for key, _ in waiting if (state := held.get(key) or stored.get(key)) is not None]

    def set_aside(self, refused: Sequence[tuple[State, str]]) -> None:
        """Move these states, which the log refuses, out of the outbox into a file of their own
        (edge.alert_outbox); while the outbox cannot be written they stay and are tried again."""
        if not refused or self.outbox is None:
            return
        try:
            self.outbox.set_aside_refused(refused)
        except (sqlite3.Error, OSError):
            self._drop_outbox()

    def mark(self, receipts: Sequence[tuple[str, int]]) -> None:
        """Mark delivered states in the outbox; on a full disk they stay unmarked and are sent again
        (harmless: the log replaces a row by its key, and this worker skips what it delivered)."""
        if not receipts or self.outbox is None:
            return
        try:
            self.outbox.delivered(receipts)
        except (sqlite3.Error, OSError):
            self._drop_outbox()

    def waiting(self) -> int:
        try:
            if self.outbox is None:
                self.outbox = AlertOutbox(self.outbox_path)
            return self.outbox.waiting()
        except (sqlite3.Error, OSError):
            self._drop_outbox()
            return 0

    def failed(self, e: Exception) -> None:
        error = first_line(e)
        news = isinstance(e, LogMoved) and error != self.error  # what to do about it: said once
        self.error = error
        self.moved = self.moved or isinstance(e, LogMoved)
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error("alert log %s unavailable (%s); alerts wait in %s until it is back",
                      redact_url(self.cfg.url), self.error, self.outbox_path)  # fmt: skip
        elif news:
            log.error("%s; alerts wait in %s", error, self.outbox_path)
        if self.store is not None:
            self.store.close()
            self.store = None
        self.backoff.failed()

    def _drop_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self._drop_outbox()


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
        person=row.person,
        box=row.box,
        timeline=() if row.timeline is None else tuple((float(t), float(s)) for t, s in row.timeline),
        others=row.others,
        nearest=row.nearest,
    )
    return Unfinished(episode, row.started_at.timestamp() - episode.action_span[0], row.profile_version)
