"""Alert episodes -> rows of the alert log, without ever losing one.

An episode's row is written when it opens (so an operator sees it within a fraction of a second) and
completed when it closes (end, peak, mean, the kept windows). Times: episodes are measured on the
source clock (a camera's wall clock, a video's position); the row's ``started_at`` / ``ended_at``
are wall-clock UTC, shifted by the delay between a window's source time and its publication, so a
replayed video's alerts carry the time it was watched.

If the database is unreachable the events wait in memory and are retried on every later write; when
the sink closes with events still undelivered, they go to a JSON-lines spool file next to the
configured database (or to the working directory) and the log says where.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from config.store import StoreConfig
from edge.episodes import Episode, EpisodeEvent
from edge.store import AlertStore, NewAlert

log = logging.getLogger("haad.alerts")


class AlertSink:
    def __init__(
        self,
        cfg: StoreConfig,
        *,
        model_version: str,
        profile_versions: Mapping[str, int] | Callable[[str], int] = lambda _: 0,
        store: AlertStore | None = None,
    ) -> None:
        self.cfg = cfg
        self.model_version = model_version
        self.profile_version = (
            profile_versions if callable(profile_versions) else (lambda name: profile_versions.get(name, 0))
        )
        self.store = store or AlertStore(cfg)
        self.ids: dict[str, int] = {}  # episode id -> alert row id
        self.offsets: dict[str, float] = {}  # episode id -> wall clock minus source clock
        self.pending: list[EpisodeEvent] = []
        self.opened = 0

    def write(self, events: Sequence[EpisodeEvent]) -> None:
        """Log ``events`` (with any still pending from a failed earlier write) in one transaction:
        each episode's row takes the state of its latest event. On a database error every event
        stays pending for the next write."""
        self.pending.extend(events)
        latest: dict[str, EpisodeEvent] = {}
        for event in self.pending:
            ep = event.episode
            # At its opening, the deciding window is the episode's last hot one: it ends at ``ep.end``.
            self.offsets.setdefault(ep.episode_id, event.trigger_sent_at - ep.end)
            latest[ep.episode_id] = event
        if not latest:
            return
        rows = [
            (self.ids.get(eid), self._alert(e.episode, closed=e.kind == "closed"))
            for eid, e in latest.items()
        ]
        try:
            ids = self.store.write_alerts(rows)
        except SQLAlchemyError as e:
            log.error("alert log unavailable (%s); %d event(s) kept for retry", e, len(self.pending))
            return
        self.ids.update(zip(latest, ids, strict=True))
        for event in self.pending:
            ep = event.episode
            if event.kind == "opened":
                self.opened += 1
                log.warning(
                    "ALERT stream=%s profile=%s score=%.3f threshold=%.3f",
                    ep.stream_id, ep.profile, ep.peak_score, ep.threshold,
                    extra={"stream": ep.stream_id, "profile": ep.profile, "alert_id": self.ids[ep.episode_id]},
                )  # fmt: skip
        for eid, event in latest.items():
            if event.kind == "closed":
                self.ids.pop(eid, None)
                self.offsets.pop(eid, None)
        self.pending.clear()

    def _alert(self, ep: Episode, *, closed: bool) -> NewAlert:
        offset = self.offsets[ep.episode_id]
        kept = ep.windows  # the store keeps the first, the peak and the latest of them
        return NewAlert(
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

    def close(self) -> None:
        """Last delivery attempt; anything undeliverable goes to the spool file."""
        self.write([])
        if self.pending:
            spool = self.spool_path()
            with spool.open("a") as f:
                for e in self.pending:
                    f.write(json.dumps(_event_json(e)) + "\n")
            log.error("%d alert event(s) could not be stored; written to %s", len(self.pending), spool)
            self.pending.clear()
        self.store.close()

    def spool_path(self) -> Path:
        db = self.store.url.split("sqlite:///", 1)
        folder = Path(db[1]).parent if len(db) == 2 else Path.cwd()
        return folder / "haad-undelivered-alerts.jsonl"


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _event_json(e: EpisodeEvent) -> dict[str, object]:
    ep = e.episode
    return {
        "kind": e.kind,
        "episode_id": ep.episode_id,
        "stream_id": ep.stream_id,
        "profile": ep.profile,
        "start_source_s": ep.start,
        "end_source_s": ep.end,
        "peak_score": ep.peak_score,
        "mean_score": ep.mean_score,
        "threshold": ep.threshold,
        "n_windows": ep.n_windows,
        "windows": [[w.t_start, w.t_end, w.score] for w in ep.windows],
    }
