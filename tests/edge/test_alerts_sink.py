"""AlertSink on a real SQLite file: one row per episode, updated as it closes, and nothing lost while
the database is locked by another writer (retried, then spooled to a file at shutdown)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from config.store import StoreConfig
from edge.alerts_sink import AlertSink
from edge.episodes import Episode, EpisodeEvent, KeptWindow
from edge.store import AlertStore


def event(kind: str, episode_id: str, n_windows: int, end: float) -> EpisodeEvent:
    frames = np.zeros((60, 20, 3), np.float32)
    ep = Episode(
        episode_id=episode_id, stream_id="cam0", profile="walk", threshold=1.0, start=0.0, end=end,
        peak_score=2.0, peak_t_start=0.0, peak_t_end=3.0, mean_score=1.5, n_windows=n_windows,
        n_hot=n_windows, windows=(KeptWindow(end - 3.0, end, 2.0, frames),),
    )  # fmt: skip
    return EpisodeEvent(kind, ep, "cooled" if kind == "closed" else None, trigger_sent_at=1_000.0)  # type: ignore[arg-type]


def test_an_episode_is_one_row_written_at_opening_and_completed_at_closing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/alerts.db"
    sink = AlertSink(StoreConfig(url=url), model_version="m1")
    sink.write([event("opened", "a", 3, 3.0)])
    with AlertStore(url) as store:
        [row] = store.list_alerts()
        assert row.ended_at is None and row.n_windows == 3
    sink.write([event("closed", "a", 7, 5.0), event("opened", "b", 2, 9.0), event("closed", "b", 4, 10.0)])
    sink.close()
    with AlertStore(url) as store:
        rows = sorted(store.list_alerts(), key=lambda r: r.id)
    assert [(r.n_windows, r.ended_at is not None) for r in rows] == [(7, True), (4, True)]
    assert sink.opened == 2


def test_events_survive_a_locked_database_and_are_spooled_at_shutdown(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    sink = AlertSink(StoreConfig(url=f"sqlite:///{db}", busy_timeout_s=0.05), model_version="m1")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    sink.write([event("opened", "a", 3, 3.0)])
    assert len(sink.pending) == 1  # kept for retry, not lost
    blocker.execute("COMMIT")
    sink.write([])  # the next write delivers it
    assert sink.pending == [] and sink.opened == 1
    blocker.execute("BEGIN EXCLUSIVE")
    sink.write([event("closed", "a", 6, 8.0)])
    sink.close()  # still locked: the event goes to the spool file
    blocker.execute("COMMIT")
    spooled = [
        json.loads(line) for line in (tmp_path / "haad-undelivered-alerts.jsonl").read_text().splitlines()
    ]
    assert [(e["kind"], e["episode_id"], e["n_windows"]) for e in spooled] == [("closed", "a", 6)]
    with AlertStore(f"sqlite:///{db}") as store:
        [row] = store.list_alerts()
    assert row.ended_at is None and row.n_windows == 3  # what was delivered is intact
