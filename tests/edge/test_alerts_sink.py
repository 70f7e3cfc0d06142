"""AlertSink on real SQLite files: one row per episode, written off the scoring loop, kept in the local
outbox while the alert log is locked or gone, and delivered (once) when it is back or at the next
start; episodes left open by a previous worker are handed back to resume."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from config.store import StoreConfig
from edge import alerts_sink
from edge.alerts_sink import AlertSink
from edge.episodes import Episode, EpisodeEvent, KeptWindow
from edge.store import AlertStore
from tests.faults import TcpProxy, fill


def event(kind: str, episode_id: str, n_windows: int, end: float, stream: str = "cam0") -> EpisodeEvent:
    frames = np.full((60, 20, 3), end, np.float32)
    ep = Episode(
        episode_id=episode_id, stream_id=stream, profile="walk", threshold=1.0, start=0.0, end=end,
        peak_score=2.0, peak_t_start=0.0, peak_t_end=3.0, mean_score=1.5, n_windows=n_windows,
        n_hot=n_windows, windows=(KeptWindow(0.0, 3.0, 1.5, frames), KeptWindow(end - 3.0, end, 2.0, frames)),
        timeline=tuple((t, 1.5) for t in np.arange(1.5, end - 1.4, 0.25)),
    )  # fmt: skip
    return EpisodeEvent(kind, ep, "cold" if kind == "closed" else None, trigger_sent_at=1_000.0)  # type: ignore[arg-type]


def rows(url: str) -> list[tuple[str, int, bool]]:
    with AlertStore(url) as store:
        return sorted((r.episode_key, r.n_windows, r.ended_at is not None) for r in store.list_alerts())


def waiting(outbox: Path) -> int:
    """Alerts in an outbox file, read without taking a write lock from the writer under test."""
    if not outbox.exists():
        return 0
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=5) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def wait_for(condition, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_episode_is_one_row_written_at_opening_and_completed_at_closing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/alerts.db"
    sink = AlertSink(StoreConfig(url=url), tmp_path / "outbox.db", model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", "a", 3, 3.0)])
    wait_for(lambda: (tmp_path / "alerts.db").exists() and rows(url) == [("a", 3, False)])
    sink.write([event("closed", "a", 7, 5.0), event("opened", "b", 2, 9.0), event("closed", "b", 4, 10.0)])
    sink.close()
    assert rows(url) == [("a", 7, True), ("b", 4, True)]
    with AlertStore(url) as store:  # a's windows (0, 3) and (2, 5): the middles; its clock from opening
        a = next(r for r in store.list_alerts() if r.episode_key == "a")
    assert (a.started_at.timestamp(), a.ended_at.timestamp()) == pytest.approx((997.0 + 1.5, 997.0 + 3.5))
    with AlertStore(url) as store:  # through the outbox and the log, the score moment by moment
        line = store.get_alert(a.id).timeline
    assert (
        line is not None
        and np.array_equal(line[:, 0], np.arange(1.5, 3.6, 0.25))
        and np.all(line[:, 1] == 1.5)
    )
    assert sink.opened == 2 and waiting(tmp_path / "outbox.db") == 0


@pytest.mark.parametrize("every_s,rounds", [(0.0, 5), (3.0, 2)])
def test_states_of_one_delivery_interval_go_to_the_log_as_one_row(
    tmp_path: Path, every_s: float, rounds: int
) -> None:
    # The first state goes at once; within deliver_every_s the later ones wait and only the newest
    # is written. Delivering every state as it comes costs the worker's hot path (docs/worker.md).
    url = f"sqlite:///{tmp_path}/alerts.db"
    sink = AlertSink(
        StoreConfig(url=url, deliver_every_s=every_s), tmp_path / "outbox.db", model_version="m1"
    )
    sink.start(["cam0"])
    try:
        for i, kind in enumerate(["opened", "updated", "updated", "updated", "closed"]):
            sink.write([event(kind, "a", 3 + i, 3.0 + i)])
            # Each of the later four once the one before is in the outbox, where the delivery loop
            # sees it (not after 0.1 s sleeps, which on a loaded host ran past the interval).
            if i == 0 or not every_s:
                wait_for(lambda: sink.delivered > i, timeout_s=30)  # noqa: B023 - waited for at once
            else:
                wait_for(lambda: sink.health().unsaved == 0, timeout_s=30)
        wait_for(lambda: rows(url) == [("a", 7, True)], timeout_s=30)
    finally:
        sink.close()
    assert sink.delivered == rounds


def test_states_no_longer_held_in_memory_are_read_back_from_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Delivery takes the states the writer put into the outbox from memory, the newest SAVED_KEPT of
    # them; the others it must read back, windows included.
    monkeypatch.setattr(alerts_sink, "SAVED_KEPT", 1)
    url = f"sqlite:///{tmp_path}/alerts.db"
    sink = AlertSink(StoreConfig(url=url, deliver_every_s=0.0), tmp_path / "outbox.db", model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", key, 3, end) for key, end in (("a", 3.0), ("b", 4.0), ("c", 5.0))])
    sink.write([event("closed", key, 4, end + 1) for key, end in (("a", 3.0), ("b", 4.0), ("c", 5.0))])
    sink.close()
    assert rows(url) == [("a", 4, True), ("b", 4, True), ("c", 4, True)]
    with AlertStore(url) as store:  # each with its closing state's windows (frames filled with its end)
        ends = {r.episode_key: store.get_alert(r.id).windows for r in store.list_alerts()}
    assert all(w is not None and np.all(w == {"a": 4.0, "b": 5.0, "c": 6.0}[k]) for k, w in ends.items())
    assert waiting(tmp_path / "outbox.db") == 0


@pytest.fixture
def locked_log(tmp_path: Path) -> Iterator[tuple[str, sqlite3.Connection]]:
    """(url, holder): a SQLite alert log with its schema, which another connection holds locked
    (``BEGIN EXCLUSIVE``) until the test commits it."""
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    AlertStore(url).close()
    holder = sqlite3.connect(tmp_path / "alerts.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield url, holder
    if holder.in_transaction:
        holder.execute("COMMIT")
    holder.close()


def test_a_locked_log_never_blocks_the_caller_and_loses_nothing(
    tmp_path: Path, locked_log: tuple[str, sqlite3.Connection]
) -> None:
    url, blocker = locked_log
    # A caller waiting on the log at all waits out its 30 s busy timeout: far past the 10 s given.
    sink = AlertSink(StoreConfig(url=url, busy_timeout_s=30), tmp_path / "outbox.db", model_version="m1")
    sink.start(["cam0"])

    def score() -> None:
        sink.write([event("opened", "a", 3, 3.0)])
        sink.write([event("closed", "a", 6, 8.0)])

    caller = threading.Thread(target=score)
    caller.start()
    caller.join(10)
    assert not caller.is_alive()  # the scoring loop only queued them, the log still locked
    wait_for(lambda: waiting(tmp_path / "outbox.db") == 1)  # durable while the log is locked
    blocker.execute("COMMIT")
    wait_for(lambda: rows(url) == [("a", 6, True)], timeout_s=15)
    sink.close()


def test_alerts_left_in_the_outbox_at_shutdown_are_delivered_at_the_next_start(
    tmp_path: Path, locked_log: tuple[str, sqlite3.Connection]
) -> None:
    url, blocker = locked_log
    first = AlertSink(StoreConfig(url=url, busy_timeout_s=0.1), tmp_path / "outbox.db", model_version="m1")
    first.start(["cam0"])
    first.write([event("opened", "a", 3, 3.0), event("closed", "a", 5, 6.0), event("opened", "b", 2, 9.0)])
    wait_for(lambda: first.health().unsaved == 0)  # in the outbox before close's 1 s, on a loaded host too
    first.close(timeout_s=1.0)  # the log is still locked: both wait in the outbox
    assert waiting(tmp_path / "outbox.db") == 2
    blocker.execute("COMMIT")
    second = AlertSink(StoreConfig(url=url), tmp_path / "outbox.db", model_version="m1")
    second.start(["cam0"])
    unfinished = second.unfinished(wait_s=10)
    second.close()
    assert rows(url) == [("a", 5, True), ("b", 2, False)]
    assert [u.episode.episode_id for u in unfinished] == ["b"]
    ep = unfinished[0].episode  # as the tracker resumes it: source times from its windows
    assert (ep.start, ep.end, ep.n_windows, len(ep.windows)) == (0.0, 9.0, 2, 2)
    assert unfinished[0].offset_s == pytest.approx(1_000.0 - 9.0)
    assert ep.timeline == event("opened", "b", 2, 9.0).episode.timeline  # its timeline goes on from there


def test_an_unreachable_server_at_start_is_waited_for_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens on port 1
    sink = AlertSink(StoreConfig(url=url, busy_timeout_s=1), tmp_path / "outbox.db", model_version="m1")
    sink.start(["cam0"])
    for i in range(5):
        sink.write([event("opened", f"e{i}", 3, 3.0)])
    wait_for(lambda: waiting(tmp_path / "outbox.db") == 5)
    sink.close(timeout_s=1.0)
    unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(unavailable) == 1 and "nobody@" not in unavailable[0].getMessage()
    assert waiting(tmp_path / "outbox.db") == 5


# --- faults: every state durable in the outbox at once, whatever the alert log does (issue 20) -----


def outbox_rows(outbox: Path) -> list[tuple[str, bool]]:
    """(episode key, still open) of every state in an outbox file, read-only."""
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=5) as db:
        return sorted((k, bool(o)) for k, o in db.execute("SELECT episode_key, open FROM outbox"))


def test_a_locked_log_never_keeps_an_alert_state_out_of_the_outbox(
    tmp_path: Path, locked_log: tuple[str, sqlite3.Connection]
) -> None:
    # Another process holds the SQLite alert log for longer than the writer's busy timeout: every
    # state of the episode (open, update, close) is on local disk within a second of being written,
    # so a worker killed meanwhile loses none of them.
    url, blocker = locked_log
    sink = AlertSink(StoreConfig(url=url, busy_timeout_s=20), tmp_path / "outbox.db", model_version="m1")
    sink.start(["cam0"])
    try:
        for i, (kind, n) in enumerate([("opened", 3), ("updated", 5), ("closed", 7)]):
            sink.write([event(kind, "a", n, 3.0 + i)])
            time.sleep(0.2)  # the writer is inside its delivery attempt by now
        sink.write([event("opened", "b", 2, 9.0)])
        # Within half the busy timeout, so none waited for the log (2 s was tight on a loaded host).
        wait_for(lambda: outbox_rows(tmp_path / "outbox.db") == [("a", False), ("b", True)], timeout_s=10)
    finally:
        blocker.execute("COMMIT")
        sink.close()
    assert rows(url) == [("a", 7, True), ("b", 2, False)]


def test_a_hung_postgresql_keeps_every_alert_in_the_outbox_and_shutdown_says_so(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, url = pg_proxy
    AlertStore(url).close()  # the schema exists
    outbox = tmp_path / "outbox.db"
    sink = AlertSink(StoreConfig(url=url, busy_timeout_s=2), outbox, model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", "a", 3, 3.0)])
    wait_for(lambda: rows(url) == [("a", 3, False)])
    proxy.set("freeze")  # connections stay open, nothing comes back
    sink.write([event("closed", "a", 9, 6.0)])
    time.sleep(0.5)
    sink.write([event("opened", "b", 2, 9.0)])
    started = time.monotonic()
    sink.close(timeout_s=1.0)  # gives up on the hung call after 1 s (+1 s to end it)
    assert time.monotonic() - started < 15
    assert outbox_rows(outbox) == [("a", False), ("b", True)]
    said = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "2 alert" in said and str(outbox) in said  # exactly what waits where
    proxy.set("forward")
    later = AlertSink(StoreConfig(url=url), outbox, model_version="m1")  # the next start delivers them
    later.start(["cam0"])
    later.close()
    assert rows(url) == [("a", 9, True), ("b", 2, False)]


def test_a_full_disk_under_the_outbox_loses_no_alert_and_is_never_called_safe(
    tmp_path: Path, full_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"  # the alert log lives on another disk
    outbox = full_disk / "outbox.db"
    fill(full_disk)
    sink = AlertSink(StoreConfig(url=url), outbox, model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", "a", 3, 3.0)])
    sink.write([event("closed", "a", 5, 6.0)])
    sink.write([event("opened", "b", 2, 9.0)])
    sink.close()
    assert rows(url) == [("a", 5, True), ("b", 2, False)]
    said = [r.getMessage() for r in caplog.records]
    assert any("outbox" in m and "No space left" in m or "full" in m for m in said), said
    assert not any("wait in" in m for m in said), said


def test_an_outbox_that_cannot_be_opened_loses_no_alert(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The same fault without a file system to fill: the outbox path is taken by a folder.
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    outbox = tmp_path / "outbox.db"
    outbox.mkdir()
    sink = AlertSink(StoreConfig(url=url), outbox, model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", "a", 3, 3.0)])
    sink.write([event("closed", "a", 5, 6.0)])
    sink.close()
    assert rows(url) == [("a", 5, True)]
    assert not any("wait in" in r.getMessage() for r in caplog.records)


def test_a_starting_writer_hands_back_only_what_a_previous_worker_left(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    previous = AlertSink(StoreConfig(url=url), tmp_path / "outbox.db", model_version="m1")
    previous.start(["cam0"])
    previous.write([event("opened", "old", 3, 3.0)])
    previous.close()  # it stopped with its episode open
    sink = AlertSink(StoreConfig(url=url), tmp_path / "outbox.db", model_version="m1")
    sink.start(["cam0"])
    sink.write([event("opened", "mine", 2, 9.0)])  # this worker's own, at once
    found = sink.unfinished(wait_s=10)
    time.sleep(1.0)
    found += sink.unfinished()
    sink.close()
    assert [u.episode.episode_id for u in found] == ["old"]


def test_an_alert_keeps_the_profile_version_and_threshold_it_opened_under_through_a_reload(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/alerts.db"
    current = {"walk": 1}
    sink = AlertSink(
        StoreConfig(url=url), tmp_path / "outbox.db", model_version="m1", profile_versions=current
    )
    sink.start(["cam0"])
    sink.write([event("opened", "a", 3, 3.0)])
    current["walk"] = 2  # a reload while the episode is open
    sink.write([event("closed", "a", 7, 5.0), event("opened", "b", 2, 9.0)])
    sink.close()
    with AlertStore(url) as store:
        got = {r.episode_key: (r.profile_version, r.threshold) for r in store.list_alerts()}
    assert got == {"a": (1, 1.0), "b": (2, 1.0)}
    resumed = AlertSink(
        StoreConfig(url=url), tmp_path / "outbox.db", model_version="m1", profile_versions=current
    )
    resumed.start(["cam0"])
    [left] = resumed.unfinished(wait_s=10)  # b, left open: resumed under the version it opened with
    current["walk"] = 3
    resumed.write([event("closed", "b", 4, 10.0)])
    resumed.close()
    assert left.profile_version == 2
    with AlertStore(url) as store:
        assert {r.episode_key: r.profile_version for r in store.list_alerts()}["b"] == 2
