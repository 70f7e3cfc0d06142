"""AlertStore on a real SQLite file and on PostgreSQL: schema, round trips, filters, review,
validation and concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, TextClause, create_engine, event, inspect, select, text

from config.redaction import redact_url
from config.store import RetentionConfig, StoreConfig
from edge.store import AlertStore, NewAlert, ReviewedMeanwhile, open_store
from edge.store.engine import alembic_config, make_engine
from edge.store.models import Base, StreamStatus
from edge.store.retention import prune
from tests.forked import start_forked, wait_forked

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MakeAlert = Callable[..., NewAlert]  # the make_alert fixture
# Formatted with the url, a ready folder, this process's name, how many there are: opens the store once all are ready.
OPEN_WHEN_ALL_READY = """
import pathlib, time
from edge.store import AlertStore
url, ready, me, n = {url!r}, pathlib.Path({ready!r}), {me!r}, {n}
(ready / me).touch()
deadline = time.monotonic() + 30
while len(list(ready.iterdir())) < n and time.monotonic() < deadline:
    time.sleep(0.002)
AlertStore(url).close()
"""


def _revision(url: str) -> str | None:
    engine = create_engine(StoreConfig(url=url).url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_opening_creates_the_schema_at_head_and_reopening_changes_nothing(
    store_url: str, make_alert: MakeAlert
) -> None:

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _revision(store_url) is None  # empty database
    with open_store(store_url) as store:
        assert store.url == redact_url(StoreConfig(url=store_url).url)
        [alert_id] = store.write_alerts([make_alert()])
    assert _revision(store_url) == head
    with open_store(store_url) as store, open_store(store_url) as again:
        assert store.count() == again.count() == 1
        assert again.get_alert(alert_id).stream_id == "cam1"
    assert _revision(store_url) == head


def test_migrations_match_the_models(store_url: str) -> None:
    """A model change without a migration shows up here (what `alembic check` would report)."""
    AlertStore(store_url).close()
    engine = create_engine(StoreConfig(url=store_url).url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()
    assert tables == {
        "alerts",
        "events",
        "event_cursors",
        "profile_feedback",
        "stream_status",
        "alembic_version",
    }
    assert diff == []


def test_sqlite_file_is_in_wal_mode_with_sync_normal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "alerts.db"  # the folder is created too
    cfg = StoreConfig(url=f"sqlite:///{path}", busy_timeout_s=7.5)
    AlertStore(cfg).close()
    with sqlite3.connect(path) as raw:  # WAL is a property of the file, seen by any client
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    engine = make_engine(cfg)
    try:
        with engine.connect() as conn:
            pragma = {
                p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {"synchronous": 1, "foreign_keys": 1, "busy_timeout": 7500}  # 1 = NORMAL


def test_alert_round_trips_with_bit_exact_windows(store_url: str, make_alert: MakeAlert) -> None:
    windows = np.random.default_rng(1).normal(size=(4, 60, 20, 3)).astype(np.float32)
    windows[0, 0, 0] = [np.float32(1e-38), np.float32(3.4e38), -0.0]  # denormal-ish, huge, signed zero
    windows[1, 5, 7, 2] = np.nan  # a raw window may still hold a missing joint
    cest = timezone(timedelta(hours=2))
    alert = make_alert(
        k=4,
        windows=windows,
        started_at=datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=cest),
        ended_at=datetime(2024, 5, 1, 14, 0, 9, tzinfo=cest),
        peak_score=2.718281828459045,
    )
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([alert])
        got = store.get_alert(alert_id)
    assert got.id == alert_id
    assert got.windows is not None and got.window_times is not None and got.window_scores is not None
    assert got.windows.dtype == np.float32 and got.windows.shape == (4, 60, 20, 3)
    assert np.array_equal(got.windows.view(np.uint32), windows.view(np.uint32))  # bit for bit, NaN too
    assert np.array_equal(got.window_times, alert.window_times)
    assert alert.window_scores is not None and np.array_equal(got.window_scores, alert.window_scores)
    assert got.started_at == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert got.started_at.tzinfo == UTC and got.ended_at == alert.ended_at
    assert (got.peak_score, got.mean_score, got.threshold) == (2.718281828459045, 1.4, 1.2)
    assert (got.stream_id, got.profile, got.profile_version, got.model_version) == (
        "cam1", "assembly", 2, "enc-3f9a2c"
    )  # fmt: skip
    assert (got.n_windows, got.n_kept, got.status, got.note, got.reviewed_at) == (6, 4, "new", "", None)
    assert abs(got.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_list_filters_and_orders_newest_first_without_windows(store_url: str, make_alert: MakeAlert) -> None:
    specs = [  # (stream, profile, minutes after T0)
        ("cam1", "assembly", 0),
        ("cam2", "assembly", 10),
        ("cam1", "packing", 20),
        ("cam1", "assembly", 30),
        ("cam2", "packing", 40),
    ]
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [make_alert(stream_id=s, profile=p, started_at=T0 + timedelta(minutes=m)) for s, p, m in specs],
        )
        store.set_status(ids[3], "dismissed")

        def listed(**filters: object) -> list[int]:
            return [a.id for a in store.list_alerts(**filters)]  # type: ignore[arg-type]

        assert listed() == ids[::-1]
        assert listed(stream="cam1") == [ids[3], ids[2], ids[0]]
        assert listed(stream="cam1", profile="assembly") == [ids[3], ids[0]]
        assert listed(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=30)) == [ids[2], ids[1]]
        assert listed(status="dismissed") == [ids[3]]
        assert listed(status="new", stream="cam1") == [ids[2], ids[0]]
        assert listed(limit=2) == [ids[4], ids[3]]
        assert listed(stream="nope") == []
        assert store.count() == 5
        assert store.count(profile="packing") == 2
        assert store.count(since=T0 + timedelta(minutes=15), status="new") == 2
        assert all(a.windows is None and a.window_times is None for a in store.list_alerts())
        with pytest.raises(ValueError, match="timezone-aware"):
            store.list_alerts(since=datetime(2024, 5, 1))
        with pytest.raises(ValueError, match="status must be one of"):
            store.count(status="closed")


def test_each_alert_keeps_the_host_that_raised_it_and_lists_filter_by_it(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [
                make_alert(host="hall-a", started_at=T0),
                make_alert(host="hall-b", started_at=T0 + timedelta(minutes=1)),
                make_alert(started_at=T0 + timedelta(minutes=2)),  # a daemon that names no host
            ]
        )
        assert [a.host for a in store.list_alerts()] == ["", "hall-b", "hall-a"]
        assert [a.id for a in store.list_alerts(host="hall-a")] == [ids[0]]
        assert store.count(host="hall-b") == 1 and store.get_alert(ids[1]).host == "hall-b"
    with pytest.raises(ValueError, match="host"):
        make_alert(host="h" * 129)


def test_write_alerts_returns_ids_in_order_and_accepts_an_empty_batch(
    sqlite_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(sqlite_url) as store:
        assert store.write_alerts([]) == []
        ids = store.write_alerts([make_alert(stream_id=f"cam{i}") for i in range(3)])
        assert [store.get_alert(i).stream_id for i in ids] == ["cam0", "cam1", "cam2"]


@pytest.mark.parametrize("field", ["peak_score", "mean_score", "threshold"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_inf_score_is_rejected_with_a_clear_error(
    make_alert: MakeAlert, field: str, bad: float
) -> None:
    with pytest.raises(ValueError, match=f"{field} is .*NaN/Inf scores are never stored"):
        make_alert(**{field: bad})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"window_scores": np.array([1.0, np.nan, 1.0])}, "window_scores must be finite"),
        ({"windows": np.zeros((3, 60, 20), np.float32)}, "windows must be a float array"),
        ({"windows": np.zeros((0, 60, 20, 3), np.float32), "window_times": np.zeros((0, 2))}, "K>=1"),
        ({"window_times": np.zeros((2, 2))}, r"window_times must be finite \(3, 2\)"),
        ({"started_at": datetime(2024, 5, 1)}, "started_at must be timezone-aware"),
        ({"ended_at": datetime(2024, 4, 1, tzinfo=UTC)}, "ended_at .* is before started_at"),
        ({"stream_id": ""}, "stream_id must be a string of 1..128"),
        ({"n_windows": 0}, "n_windows must be >= 1"),
    ],
)
def test_malformed_alert_is_rejected(make_alert: MakeAlert, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_alert(**overrides)


def test_only_keep_windows_are_stored_first_peak_last_and_spread_between(
    sqlite_url: str, make_alert: MakeAlert
) -> None:
    scores = np.array([1.3, 1.4, 1.5, 2.9, 1.6, 1.4, 1.3, 1.5, 1.4, 1.6])  # peak at 3
    alert = make_alert(k=10, window_scores=scores)
    with AlertStore(StoreConfig(url=sqlite_url, keep_windows=4)) as store:
        got = store.get_alert(store.write_alerts([alert])[0])
    assert (got.n_windows, got.n_kept) == (12, 4)
    assert got.window_scores is not None and got.windows is not None
    assert np.array_equal(got.window_scores, scores[[0, 3, 6, 9]])
    assert np.array_equal(got.windows, alert.windows[[0, 3, 6, 9]])


def test_review_status_and_note_are_stored_and_unknown_ids_raise_key_error(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([make_alert()])
        store.set_status(alert_id, "confirmed", "forklift in the walkway")
        got = store.get_alert(alert_id)
        assert (got.status, got.note) == ("confirmed", "forklift in the walkway")
        assert got.reviewed_at is not None and got.reviewed_at.tzinfo == UTC
        with pytest.raises(ValueError, match="status must be one of new, confirmed, dismissed"):
            store.set_status(alert_id, "maybe")
        for call in (
            lambda: store.get_alert(alert_id + 1),
            lambda: store.set_status(alert_id + 1, "dismissed"),
        ):
            with pytest.raises(KeyError, match=f"no alert with id {alert_id + 1}"):
                call()
        assert store.get_alert(alert_id).status == "confirmed"


def test_a_review_made_only_while_the_alert_has_the_review_its_caller_saw_lets_one_reviewer_win(
    store_url: str, make_alert: MakeAlert
) -> None:
    # The review page checked the review it saw, then wrote in a second step: two reviewers pressing
    # at once both passed the check, and the later one overwrote the other's review and note.
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([make_alert()])
        with pytest.raises(KeyError, match=f"no alert with id {alert_id + 1}"):
            store.set_status(alert_id + 1, "dismissed", if_reviewed_at=None)
        results: list[str] = []
        barrier = threading.Barrier(6)

        def review(status: str) -> None:
            barrier.wait()
            try:
                store.set_status(alert_id, status, f"by {status}", reviewer=status, if_reviewed_at=None)
                results.append(status)
            except ReviewedMeanwhile:
                results.append("refused")

        threads = [threading.Thread(target=review, args=(s,)) for s in ("confirmed", "dismissed") * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results).count("refused") == 5, results
        got = store.get_alert(alert_id)
        [winner] = [r for r in results if r != "refused"]
        assert (got.status, got.note, got.reviewed_by) == (winner, f"by {winner}", winner)
        # A later review against that one goes through; one against the outdated view does not.
        with pytest.raises(ReviewedMeanwhile):
            store.set_status(alert_id, "new", if_reviewed_at=None)
        with pytest.raises(ReviewedMeanwhile):
            store.set_status(alert_id, "new", if_status="new")
        store.set_status(alert_id, "new", if_reviewed_at=got.reviewed_at, if_status=winner)
        assert store.get_alert(alert_id).status == "new"


def test_open_episode_is_completed_by_update_and_keeps_its_review(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        opened = make_alert(k=1, ended_at=None, n_windows=3)
        [alert_id] = store.write_alerts([opened])
        assert store.get_alert(alert_id).ended_at is None
        store.set_status(alert_id, "confirmed", "seen live")
        final = make_alert(
            k=3,
            ended_at=T0 + timedelta(seconds=12),
            peak_score=3.5,
            n_windows=40,
            episode_key=opened.episode_key,
        )
        assert store.write_alerts([final]) == [alert_id]
        got = store.get_alert(alert_id)
    assert got.ended_at == T0 + timedelta(seconds=12)
    assert (got.peak_score, got.n_windows, got.n_kept, got.status, got.note) == (
        3.5,
        40,
        3,
        "confirmed",
        "seen live",
    )
    assert got.windows is not None and np.array_equal(got.windows, final.windows)


def test_write_alerts_inserts_new_keys_and_replaces_known_ones_in_one_transaction(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        first = make_alert(k=1, ended_at=None)
        [kept] = store.write_alerts([first])
        again = make_alert(k=2, n_windows=9, episode_key=first.episode_key)
        ids = store.write_alerts([make_alert(k=1), again, make_alert(k=1)])
        assert ids[1] == kept and len(set(ids)) == 3
        assert store.get_alert(kept).n_windows == 9 and store.get_alert(kept).episode_key == first.episode_key
        assert store.count() == 3  # the rewritten episode kept its one row


def test_states_of_one_episode_in_one_batch_apply_in_order(store_url: str, make_alert: MakeAlert) -> None:
    # The batch reads every episode's row once: its later states must see what its earlier ones did.
    with AlertStore(store_url) as store:
        opened = make_alert(k=1, ended_at=None, n_windows=3)
        closed = make_alert(k=2, n_windows=7, episode_key=opened.episode_key)
        stale = make_alert(k=3, ended_at=None, n_windows=5, episode_key=opened.episode_key)
        ids = store.write_alerts([opened, closed, stale])
        got = store.get_alert(ids[0])
        assert len(set(ids)) == 1 and store.count() == 1
        assert got.ended_at is not None and got.n_windows == 7  # closed stays closed


def _second_write_racing_the_first(
    url: str, first: Any, second: Any, write: Callable[[AlertStore, Any], Any] = AlertStore.write_alerts
) -> Any:
    """PostgreSQL: ``second`` written while a transaction writing ``first`` is held just before its
    COMMIT (a write whose COMMIT a deadline cut short, still running on the server as the delivery
    tries again), until ``second``'s transaction waits on it; what ``second``'s ``write`` returned or raised."""
    held, release, writer_pid = threading.Event(), threading.Event(), [0]
    first_writer: list[threading.Thread] = []

    def hold_commit(conn: Connection) -> None:
        if threading.current_thread() in first_writer:
            writer_pid[0] = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
            held.set()
            release.wait(10)

    got: list[Any] = []

    def write_second(store: AlertStore) -> None:
        try:
            got.append(write(store, second))
        except BaseException as e:  # noqa: BLE001 - returned to the test
            got.append(e)

    waiting_on_it = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    with AlertStore(url) as one, AlertStore(url) as two, AlertStore(url) as watcher:
        event.listen(Engine, "commit", hold_commit)
        try:
            first_writer.append(threading.Thread(target=write, args=(one, first)))
            first_writer[0].start()
            assert held.wait(10)
            racer = threading.Thread(target=write_second, args=(two,))
            racer.start()
            deadline = time.monotonic() + 10
            while not _scalar(watcher, waiting_on_it, pid=writer_pid[0]):
                assert time.monotonic() < deadline, "the second write never waited on the first"
                time.sleep(0.005)
            release.set()
            first_writer[0].join(10)
            racer.join(10)
        finally:
            release.set()
            event.remove(Engine, "commit", hold_commit)
    return got[0]


def _scalar(store: AlertStore, query: TextClause, **params: Any) -> Any:
    with store.reading() as s:
        return s.scalar(query, params)


def test_a_new_episode_another_write_commits_meanwhile_is_replaced_not_refused(
    pg_url: str, make_alert: MakeAlert
) -> None:
    # READ COMMITTED: the look-up misses the row the other transaction has not committed yet; the
    # insert then met its key and the state was refused (set aside by the outbox, the alert left open).
    opened = make_alert(k=1, ended_at=None, n_windows=3)
    closed = make_alert(k=2, n_windows=7, episode_key=opened.episode_key)
    ids = _second_write_racing_the_first(pg_url, [opened], [closed])
    assert isinstance(ids, list), ids
    with AlertStore(pg_url) as store:
        got = store.get_alert(ids[0])
        assert store.count() == 1 and got.ended_at is not None and got.n_windows == 7


def test_an_older_open_state_racing_its_close_never_reopens_the_episode(
    pg_url: str, make_alert: MakeAlert
) -> None:
    opened = make_alert(k=1, ended_at=None, n_windows=3)
    with AlertStore(pg_url) as store:
        [alert_id] = store.write_alerts([opened])
    closed = make_alert(k=2, n_windows=7, episode_key=opened.episode_key)
    stale = make_alert(k=1, ended_at=None, n_windows=5, episode_key=opened.episode_key)
    assert _second_write_racing_the_first(pg_url, [closed], [stale]) == [alert_id]
    with AlertStore(pg_url) as store:
        got = store.get_alert(alert_id)
        assert got.ended_at is not None and got.n_windows == 7  # closed stays closed


def test_a_stream_status_another_writer_commits_meanwhile_is_replaced_not_refused(pg_url: str) -> None:
    # A look-up then insert (merge) missed the row not committed yet, met its key and was refused:
    # shown as "alert log unavailable" and a back-off (the worker and haad serve's own status, say).
    def status(fps: float) -> list[StreamStatus]:
        return [StreamStatus(stream_id="cam1", profile="walk", profile_version=1, updated_at=T0, host="h",
                             fps=fps, score=None, threshold=1.0, windows_scored=0, recent="[]")]  # fmt: skip

    got = _second_write_racing_the_first(pg_url, status(10.0), status(12.0), AlertStore.write_stream_status)
    assert got is None, got
    with AlertStore(pg_url) as store, store.reading() as s:
        assert s.scalars(select(StreamStatus.fps)).all() == [12.0]


def test_open_alerts_are_those_of_the_given_streams_without_an_end(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        store.write_alerts(
            [
                make_alert(stream_id="cam1", ended_at=None, started_at=T0 + timedelta(minutes=1)),
                make_alert(stream_id="cam1", ended_at=None, started_at=T0),
                make_alert(stream_id="cam1"),
                make_alert(stream_id="cam2", ended_at=None),
            ]
        )
        found = store.open_alerts(["cam1", "cam9"])
        assert [a.started_at for a in found] == [T0, T0 + timedelta(minutes=1)]  # oldest first
        assert all(a.windows is not None and a.window_times is not None for a in found)
        assert store.open_alerts([]) == []


def test_two_stores_on_one_sqlite_file_writing_from_threads_lose_nothing(
    sqlite_url: str, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(k=1) for _ in range(2)]  # built up front: the factory's RNG is not thread-safe
    stores = [AlertStore(sqlite_url), AlertStore(sqlite_url)]
    n_threads, n_batches = 4, 15
    ids: list[list[int]] = [[] for _ in range(n_threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def writer(t: int) -> None:
        try:
            start.wait()
            store = stores[t % 2]
            for b in range(n_batches):
                batch = [
                    NewAlert(
                        **{
                            **a.__dict__,
                            "episode_key": f"w{t}-{b}-{i}",
                            "stream_id": f"w{t}",
                            "n_windows": b + 1,
                        }
                    )
                    for i, a in enumerate(alerts)
                ]
                ids[t] += store.write_alerts(batch)
                if b % 5 == 0:
                    store.set_status(ids[t][-1], "confirmed", f"thread {t}")  # a read-then-write transaction
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    try:
        assert errors == []
        all_ids = [i for per in ids for i in per]
        assert len(all_ids) == len(set(all_ids)) == n_threads * n_batches * 2
        for t in range(n_threads):
            assert stores[0].count(stream=f"w{t}") == n_batches * 2
            assert stores[1].count(stream=f"w{t}", status="confirmed") == 3
    finally:
        for s in stores:
            s.close()


def _alembic_rows(url: str) -> int:
    engine = create_engine(StoreConfig(url=url).url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one())
    finally:
        engine.dispose()


def test_processes_opening_a_new_database_at_once_all_succeed(store_url: str, tmp_path: Path) -> None:
    n = 3
    ready = tmp_path / "ready"
    ready.mkdir()
    # Forks of this process (edge.store imported already), each with its own connections and locks.
    procs = [
        start_forked(
            OPEN_WHEN_ALL_READY.format(url=store_url, ready=str(ready), me=f"p{i}", n=n), tmp_path / f"p{i}"
        )
        for i in range(n)
    ]
    failures = []
    for i, pid in enumerate(procs):
        done = wait_forked(pid, tmp_path / f"p{i}")
        if done.returncode != 0:
            failures.append(f"exit {done.returncode}: {done.stderr[-600:]}")
    assert failures == []
    assert _revision(store_url) == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _alembic_rows(store_url) == 1


def test_switching_a_new_sqlite_file_to_wal_waits_for_another_writer(tmp_path: Path) -> None:
    """Another process holds the write lock of a new log while this one switches it to WAL (several
    opening it at once): the switch waits for the lock, not 'database is locked' at once."""
    path = tmp_path / "alerts.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE held (x)")
    release = threading.Timer(0.1, holder.execute, ["COMMIT"])
    release.start()
    engine = make_engine(StoreConfig(url=f"sqlite:///{path}", busy_timeout_s=5))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
        release.join()
        holder.close()


def test_threads_opening_a_new_database_at_once_all_succeed(store_url: str) -> None:
    n = 4
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            AlertStore(store_url).close()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert errors == []
    assert _alembic_rows(store_url) == 1


def test_alert_keeps_its_person_and_box_and_lists_by_them(store_url: str, make_alert: MakeAlert) -> None:
    with AlertStore(store_url) as store:
        a, b = store.write_alerts(
            [
                make_alert(person=3, box=(0.1, 0.2, 0.4, 0.9), others=((5, (0.5, 0.1, 0.7, 0.8)),)),
                make_alert(started_at=T0 + timedelta(seconds=9)),
            ]
        )
        got, single = store.get_alert(a), store.get_alert(b)
        listed = {r.id: r for r in store.list_alerts()}
    assert (got.person, got.box, got.others) == (3, (0.1, 0.2, 0.4, 0.9), ((5, (0.5, 0.1, 0.7, 0.8)),))
    assert got.to_dict()["others"] == [[5, 0.5, 0.1, 0.7, 0.8]] and single.others == ()
    assert str(got.who) == "cam1#3" and listed[a].person == 3 and listed[a].box == got.box
    assert (single.person, single.box) == (0, None) and listed[b].to_dict()["person"] == 0


def test_alerts_written_before_people_read_as_person_0(sqlite_url: str, make_alert: MakeAlert) -> None:
    """An alert log at the last revision without people upgrades in place; its alerts are person 0."""
    from alembic import command

    engine = make_engine(StoreConfig(url=sqlite_url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0003")
            conn.execute(
                text(
                    "INSERT INTO alerts (episode_key, stream_id, profile, profile_version, started_at, peak_score,"
                    " mean_score, threshold, n_windows, model_version, n_kept, windows_npz, created_at)"
                    " VALUES ('old', 'cam1', 'p', 1, '2024-05-01 12:00:00', 2, 1.5, 1, 3, 'm', 1, NULL,"
                    " '2024-05-01 12:00:00')"
                )
            )
    finally:
        engine.dispose()
    with AlertStore(sqlite_url) as store:
        (old,) = store.list_alerts()
        [new_id] = store.write_alerts([make_alert(person=2)])
        assert (old.person, old.box) == (0, None) and store.get_alert(new_id).person == 2
    assert _revision(sqlite_url) == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_an_alerts_whole_timeline_is_kept_beside_its_few_windows_and_outlives_them(
    store_url: str, make_alert: MakeAlert
) -> None:
    line = np.column_stack([np.arange(27) * 0.25 + 1.5, np.linspace(0.8, 2.1, 27)])
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([make_alert(k=6, timeline=line)])
        got = store.get_alert(alert_id)
        listed = store.list_alerts()[0]
        cfg = RetentionConfig(max_age_days=90, max_rows=100, windows_days=10, events_days=7)
        assert prune(store, cfg, now=got.started_at + timedelta(days=30)).windows_dropped == 1
        pruned = store.get_alert(alert_id)
    assert got.n_kept == 6 and got.timeline is not None and np.array_equal(got.timeline, line)
    assert listed.timeline is None  # lists never read it
    assert pruned.windows is None and pruned.timeline is not None and np.array_equal(pruned.timeline, line)


def test_an_alert_whose_timeline_is_in_its_windows_blob_reads_it_from_there(
    store_url: str, make_alert: MakeAlert
) -> None:
    """Alerts written before revision 0007 kept their timeline inside windows_npz."""
    from sqlalchemy import update

    from edge.store.models import Alert
    from edge.store.records import encode_windows

    line = np.array([[1.5, 0.9], [1.75, 1.4]])
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([make_alert(k=2)])
        a = store.get_alert(alert_id)
        assert a.windows is not None and a.window_times is not None and a.timeline is None
        blob = encode_windows(a.windows, a.window_times, a.window_scores, line)
        with store.writing() as s:
            s.execute(update(Alert).where(Alert.id == alert_id).values(windows_npz=blob, timeline=None))
        got = store.get_alert(alert_id)
    assert got.timeline is not None and np.array_equal(got.timeline, line)


def test_a_log_whose_schema_a_newer_haad_upgraded_is_refused_by_name_and_left_unchanged(
    store_url: str, make_alert: MakeAlert
) -> None:
    """Hosts sharing one log upgrade at different times: an older haad must say that it is older,
    not "Can't locate revision", and must not write to a schema it does not know."""
    from alembic.util import CommandError

    from edge.store.engine import SchemaTooNew

    with AlertStore(store_url) as store:
        store.write_alerts([make_alert()])
    engine = create_engine(StoreConfig(url=store_url).url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with pytest.raises(SchemaTooNew, match=rf"revision 0099.*newer than this haad.*\b{head}\b.*upgrade haad"):
        AlertStore(store_url)
    assert issubclass(SchemaTooNew, CommandError)  # every caller that reports a failed upgrade reports it
    assert _revision(store_url) == "0099"


# every shipped revision but the newest, so a new migration is tested from the one before it too
EARLIER_REVISIONS = sorted(
    s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()
)[:-1]


@pytest.mark.parametrize("revision", EARLIER_REVISIONS)
def test_a_log_at_each_earlier_revision_upgrades_in_place_keeping_its_alerts(
    store_url: str, revision: str, make_alert: MakeAlert
) -> None:
    """A host whose log an older haad created (any released revision) opens it with its alert intact."""
    from alembic import command

    engine = make_engine(StoreConfig(url=store_url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
            keyed = revision >= "0002"  # episode keys came in 0002; older rows get row-<id>
            conn.execute(
                text(
                    f"INSERT INTO alerts ({'episode_key, ' if keyed else ''}stream_id, profile, profile_version,"
                    " started_at, peak_score, mean_score, threshold, n_windows, model_version, n_kept,"
                    f" windows_npz, created_at) VALUES ({':key, ' if keyed else ''}'cam1', 'p', 1,"
                    " :t, 2, 1.5, 1, 3, 'm', 1, :blob, :t)"
                ),
                {"key": "old", "t": "2024-05-01 12:00:00+00:00", "blob": b"x"},
            )
    finally:
        engine.dispose()
    with AlertStore(store_url) as store:
        (old,) = store.list_alerts()
        [new_id] = store.write_alerts([make_alert()])
        assert store.count() == 2 and store.get_alert(new_id).stream_id == "cam1"
    assert old.episode_key == ("old" if revision >= "0002" else f"row-{old.id}")
    assert (old.stream_id, old.started_at, old.host, old.person, old.nearest) == ("cam1", T0, "", 0, None)
    assert _revision(store_url) == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_nearest_behaviour_round_trips_and_an_alert_without_one_keeps_none(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        named, unnamed = store.write_alerts(
            [make_alert(episode_key="a", nearest="sitting-down"), make_alert(episode_key="b")]
        )
        assert store.get_alert(named).nearest == "sitting-down" and store.get_alert(unnamed).nearest is None
        assert {a.id: a.nearest for a in store.list_alerts()} == {named: "sitting-down", unnamed: None}
