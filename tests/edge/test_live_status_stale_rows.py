"""The live view's rows (``stream_status``) a worker's restart with another edge.yaml outdates: a
stream's row for a profile it is no longer scored against, and a row of a stream taken out of the
host's streams, were kept and shown stale for ever. Written as the worker writes them (its alert
sink, started on its configured streams), into SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.store import StoreConfig
from edge.alerts_sink import AlertSink
from edge.review.queries import stream_statuses
from edge.store.models import StreamStatus
from edge.store.store import AlertStore

# Each run: the host's configured streams and, of those, the ones sending, with their profiles.
RUNS = [
    ({"cam": ["walk"], "old": ["walk"], "hall": ["walk"]}, ["cam", "old", "hall"]),
    # cam's profile changed, old taken out, hall's camera out (not written: its row stays, stale)
    ({"cam": ["sit"], "hall": ["walk"]}, ["cam"]),
    # changed back, with a second profile, and hall sending again
    ({"cam": ["walk", "sit"], "hall": ["walk"]}, ["cam", "hall"]),
]
SHOWN = [
    {("cam", "walk"), ("old", "walk"), ("hall", "walk")},
    {("cam", "sit"), ("hall", "walk")},
    {("cam", "walk"), ("cam", "sit"), ("hall", "walk")},
]
ELSEWHERE = ("yard", "walk")  # another host's stream, in the same alert log


def row(stream: str, profile: str, host: str) -> StreamStatus:
    return StreamStatus(stream_id=stream, profile=profile, profile_version=1, updated_at=datetime.now(UTC),
                        host=host, fps=20.0, score=0.5, threshold=1.0, windows_scored=1, recent="[]")  # fmt: skip


def shown(store: AlertStore) -> set[tuple[str, str]]:
    return {(r["stream_id"], r["profile"]) for r in stream_statuses(store)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_restart_with_other_profiles_or_streams_leaves_no_stale_row(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    with AlertStore(url) as store:
        store.write_stream_status([row(*ELSEWHERE, host="other-host")])
        for run, ((streams, sending), expected) in enumerate(zip(RUNS, SHOWN, strict=True)):
            # a worker's life on this host: its sink started on its streams, one status round, stopped
            sink = AlertSink(StoreConfig(url=url, deliver_every_s=0.0), tmp_path / "outbox.db",
                             model_version="m1", host="this-host")  # fmt: skip
            sink.start(list(streams))
            try:
                sink.write_status([row(s, p, "this-host") for s in sending for p in streams[s]])
                deadline = time.monotonic() + 15
                while shown(store) != expected | {ELSEWHERE} and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                sink.close()
            assert shown(store) == expected | {ELSEWHERE}, run
