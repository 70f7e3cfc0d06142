"""Each stream's live state in the alert log, so the review server can show it from anywhere.

The worker keeps, per (stream, profile), the latest window's score and the last minute of scores,
and every ``status_every_s`` hands them with the stream's fps to the alert writer, which upserts them
into ``stream_status`` when the alert log is reachable (a live view has no use for old rows, so they
are never kept for later). The alert log
is the one place both the worker and a review server on another host already reach (PostgreSQL for
many hosts); Prometheus would need the server to find every host's metrics endpoint, and it has no
per-window scores. A row older than a few intervals means the stream (or its worker) is gone: a
stream that sends no frames, or a profile no longer in use, is not written, so its row goes stale.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from edge.pipeline import Pipeline, ScoredBatch
from edge.store.models import StreamStatus

log = logging.getLogger("haad.status")
RECENT_S = 60.0


class StatusRecorder:
    def __init__(
        self,
        deliver: Callable[[list[StreamStatus]], None],
        every_s: float,
        *,
        host: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deliver, self.every_s, self.clock = deliver, every_s, clock
        self.host = host
        self.next_at = clock()
        self.scored: dict[tuple[str, str], int] = {}
        self.recent: dict[tuple[str, str], deque[tuple[float, float]]] = {}
        self.thresholds: dict[str, float] = {}

    def observe(self, batches: Sequence[ScoredBatch], pipeline: Pipeline) -> None:
        """Remember the scores of the windows just scored (per stream and profile that applies)."""
        if pipeline.scorer is not None:
            self.thresholds.update(
                zip(pipeline.scorer.names, pipeline.scorer.thresholds.tolist(), strict=True)
            )
        for b in batches:
            for i, w in enumerate(b.windows):
                wanted = pipeline.stream_profiles.get(w.stream_id, b.profiles)
                for c, name in enumerate(b.profiles):
                    if name not in wanted:
                        continue
                    key = (w.stream_id, name)
                    q = self.recent.setdefault(key, deque())
                    q.append((w.t_end, float(b.scores[i, c])))
                    while q and w.t_end - q[0][0] > RECENT_S:
                        q.popleft()
                    self.scored[key] = self.scored.get(key, 0) + 1

    def maybe_flush(self, fps: Mapping[str, float], versions: Mapping[str, int]) -> None:
        """Hand every stream's row to the writer when ``every_s`` has passed."""
        if self.clock() < self.next_at:
            return
        self.next_at = self.clock() + self.every_s
        now = datetime.now(UTC)
        rows = []
        for key in [k for k in self.recent if k[1] not in versions]:  # a profile taken out of use
            del self.recent[key]
            self.scored.pop(key, None)
        for (stream, profile), q in self.recent.items():
            if fps.get(stream, 0.0) <= 0:  # a camera sending nothing: its row goes stale, not live
                continue
            last = q[-1][1] if q else None
            rows.append(
                StreamStatus(
                    stream_id=stream, profile=profile, profile_version=int(versions.get(profile, 0)),
                    updated_at=now, host=self.host, fps=float(fps.get(stream, 0.0)),
                    score=None if last is None or last != last else last,
                    threshold=float(self.thresholds.get(profile, 0.0)),
                    windows_scored=self.scored.get((stream, profile), 0),
                    recent=json.dumps([[round(t, 3), round(v, 4)] for t, v in q if v == v]),
                )
            )  # fmt: skip
        if rows:
            self.deliver(rows)
