"""Rows of the alert outbox that SQLite reads but haad cannot (a column of the wrong type, fields that
are not a state's JSON, windows that do not decode): a start crashed on them, or the delivery thread
died on them. Now each is moved as it was into an ``.unreadable-<time>`` file, named in the log, and
every other state is resumed and delivered."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from config.store import StoreConfig
from edge.alert_outbox import AlertOutbox, awaiting_recovery
from edge.alerts_sink import AlertSink
from edge.store import AlertStore, NewAlert
from tests.edge.test_alerts_sink import event, rows, wait_for

MALFORMED = {  # column -> what is found there
    "fields_not_json": ("fields", "not json"),
    "fields_without_a_key": ("fields", '{"episode_key": "bad"}'),
    "fields_with_an_unknown_key": ("fields", None),  # filled in below: a good state's plus one key
    "windows_not_npz": ("arrays", b"\x00 not an npz"),
    "rev_not_a_number": ("rev", "x"),
    "open_not_a_flag": ("open", "yes"),
    "delivered_not_a_flag": ("delivered", 7),
    "fields_a_blob": ("fields", b"{}"),
}


COLUMNS = "episode_key, rev, stream_id, open, fields, arrays, delivered"


def state(key: str, *, closed: bool, stream: str = "cam0") -> NewAlert:
    frames = np.zeros((2, 60, 20, 3), np.float32)
    return NewAlert(
        episode_key=key, stream_id=stream, profile="walk", profile_version=1,
        started_at=datetime(2026, 1, 1, tzinfo=UTC), ended_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC) if closed else None,
        peak_score=2.0, mean_score=1.5, threshold=1.0, n_windows=2, model_version="m1", windows=frames,
        window_times=np.array([[0.0, 3.0], [3.0, 6.0]]), window_scores=np.array([1.5, 2.0]),
    )  # fmt: skip


def spoil(outbox: Path, key: str, how: str) -> None:
    column, value = MALFORMED[how]
    with sqlite3.connect(outbox) as db:
        if how == "fields_with_an_unknown_key":
            fields = db.execute("SELECT fields FROM outbox WHERE episode_key = ?", (key,)).fetchone()[0]
            value = fields[:-1] + ', "from_a_newer_haad": 1}'
        db.execute(f"UPDATE outbox SET {column} = ? WHERE episode_key = ?", (value, key))


def aside(outbox: Path) -> list[str]:
    """The episode keys of the rows set aside as unreadable beside ``outbox``."""
    found = []
    for side in awaiting_recovery(outbox):
        assert ".unreadable-" in side.name
        with sqlite3.connect(side) as db:
            found += [k for (k,) in db.execute("SELECT episode_key FROM outbox")]
    return sorted(found)


# A row that does not decode is met by the start (open: resumed) or by delivery (closed); one of
# the wrong type by the start's look at every row, open or not.
UNDECODABLE = ("fields_not_json", "fields_without_a_key", "fields_with_an_unknown_key", "windows_not_npz")
CASES = [(how, True) for how in MALFORMED] + [(how, False) for how in UNDECODABLE]


@pytest.mark.parametrize(
    ("how", "bad_is_open"), CASES, ids=[f"{h}-{'open' if o else 'closed'}" for h, o in CASES]
)
def test_a_start_sets_unreadable_rows_aside_and_resumes_and_delivers_every_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str, bad_is_open: bool
) -> None:
    outbox, url = tmp_path / "outbox.db", f"sqlite:///{tmp_path / 'alerts.db'}"
    box = AlertOutbox(outbox)
    box.put([(1, state("left-open", closed=False)), (2, state("bad", closed=not bad_is_open)),
             (3, state("done", closed=True))])  # fmt: skip
    box.close()
    spoil(outbox, "bad", how)
    sink = AlertSink(StoreConfig(url=url), outbox, model_version="m1")
    sink.start(["cam0"])
    found = sink.unfinished(wait_s=10)
    sink.close()
    assert [u.episode.episode_id for u in found] == ["left-open"]
    assert [key for key, _, _ in rows(url)] == ["done", "left-open"]
    assert aside(outbox) == ["bad"]  # kept as it was, for a human
    with sqlite3.connect(outbox) as db:
        assert [k for (k,) in db.execute("SELECT episode_key FROM outbox")] == ["left-open"]
    assert any("cannot be read" in r.getMessage() and "'bad'" in r.getMessage() for r in caplog.records)


def test_rows_that_cannot_be_read_never_hold_back_those_behind_them(tmp_path: Path) -> None:
    """More unreadable rows than one delivery batch, met while delivering (``haad alerts deliver``)."""
    outbox = tmp_path / "outbox.db"
    box = AlertOutbox(outbox)
    box.put(
        [(i, state(f"bad{i:03d}", closed=True)) for i in range(1, 71)] + [(71, state("good", closed=True))]
    )
    with sqlite3.connect(outbox) as db:
        db.execute("UPDATE outbox SET fields = 'not json' WHERE episode_key LIKE 'bad%'")
    with AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}") as store:
        assert box.deliver(store, batch=64) == 1
        assert [a.episode_key for a in store.list_alerts()] == ["good"]
    assert box.waiting() == 0
    box.close()
    assert aside(outbox) == [f"bad{i:03d}" for i in range(1, 71)]


@pytest.mark.parametrize("how", ["fields_not_json", "rev_not_a_number"])
def test_a_row_spoiled_while_the_worker_runs_is_set_aside_by_delivery_which_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """Met by the delivery thread, not the start: it used to die on it, and nothing was delivered again."""
    outbox, url = tmp_path / "outbox.db", f"sqlite:///{tmp_path / 'alerts.db'}"
    sink = AlertSink(StoreConfig(url=url, deliver_every_s=0.0), outbox, model_version="m1")
    spare = AlertOutbox(tmp_path / "spare.db")
    spare.put([(10_000, state("bad", closed=True))])
    spare.close()
    spoil(tmp_path / "spare.db", "bad", how)
    sink.start(["cam0"])
    try:
        with sqlite3.connect(outbox, timeout=10) as db:  # as another program would put it, in one go
            db.execute("ATTACH DATABASE ? AS spare", (str(tmp_path / "spare.db"),))
            db.execute(f"INSERT INTO outbox ({COLUMNS}) SELECT {COLUMNS} FROM spare.outbox")
        with caplog.at_level(logging.ERROR, logger="haad.alerts"):
            wait_for(lambda: aside(outbox) == ["bad"])
            sink.write([event("opened", "after", 3, 3.0)])
            wait_for(lambda: [k for k, _, _ in rows(url)] == ["after"])
    finally:
        sink.close()


FOREIGN = {  # an outbox table this haad cannot write, as another program or haad version could leave it
    "a_column_missing": "CREATE TABLE outbox (id INTEGER PRIMARY KEY, episode_key TEXT UNIQUE, state BLOB)",
    "a_column_it_cannot_fill": "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, episode_key TEXT "
    "NOT NULL UNIQUE, rev INTEGER NOT NULL DEFAULT 0, stream_id TEXT NOT NULL, open INTEGER NOT NULL, fields "
    "TEXT NOT NULL, arrays BLOB NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL)",
    "a_view": "CREATE VIEW outbox AS SELECT 1 AS id",
}


@pytest.mark.parametrize("how", list(FOREIGN))
def test_an_outbox_this_haad_cannot_write_is_set_aside_and_a_new_one_takes_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """The writer failed at every state (kept in memory only, /health failing) until someone moved
    the file by hand; now it is moved aside, and what haad can read there is taken in."""
    outbox, url = tmp_path / "outbox.db", f"sqlite:///{tmp_path / 'alerts.db'}"
    with sqlite3.connect(outbox) as db:
        db.execute(FOREIGN[how])
    if how == "a_column_it_cannot_fill":  # a newer haad's state, in the columns this one knows
        box = AlertOutbox(tmp_path / "ours.db")
        box.put([(1, state("left-open", closed=False))])
        box.close()
        with sqlite3.connect(outbox) as db:
            db.execute("ATTACH DATABASE ? AS ours", (str(tmp_path / "ours.db"),))
            db.execute("INSERT INTO outbox SELECT *, 1 FROM ours.outbox")
    sink = AlertSink(StoreConfig(url=url, busy_timeout_s=0.5), outbox, model_version="m1")
    sink.start(["cam0"])
    found = sink.unfinished(wait_s=10)
    sink.write([event("opened", "new", 3, 3.0)])
    wait_for(lambda: sink.health().waiting == 0 and [k for k, _, _ in rows(url)].count("new") == 1)
    assert sink.health().outbox_error is None
    sink.close()
    resumed = ["left-open"] if how == "a_column_it_cannot_fill" else []
    assert [u.episode.episode_id for u in found] == resumed
    assert [k for k, _, _ in rows(url)] == sorted(["new", *resumed])
    (aside,) = awaiting_recovery(outbox)  # kept as it was
    assert ".unreadable-" in aside.name
    with sqlite3.connect(aside) as db:
        assert db.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0] == FOREIGN[how]
    assert any("not one this haad can write" in r.getMessage() for r in caplog.records)


def test_states_the_log_refuses_are_set_aside_and_never_hold_back_the_others(
    tmp_path: Path, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A state PostgreSQL refuses (a NUL in a text, from an outbox edited by hand) was taken for an
    outage: retried forever, with every state behind it, and /health said the log was down."""
    outbox = tmp_path / "outbox.db"
    box = AlertOutbox(outbox)
    nul = dataclasses.replace(state("nul", closed=True), profile="wa\x00lk")
    box.put([(1, state("before", closed=True)), (2, nul), (3, state("after", closed=True))])
    box.close()
    sink = AlertSink(StoreConfig(url=pg_url, deliver_every_s=0.0), outbox, model_version="m1")
    sink.start(["cam0"])
    try:
        wait_for(lambda: aside(outbox) == ["nul"], timeout_s=30)
        sink.write([event("opened", "new", 3, 3.0)])
        wait_for(lambda: [k for k, _, _ in rows(pg_url)] == ["after", "before", "new"], timeout_s=30)
        assert sink.health().log_error is None
    finally:
        sink.close()
    assert any(
        "refused by the alert log" in r.getMessage() and "'nul'" in r.getMessage() for r in caplog.records
    )


def test_delivering_by_hand_sets_aside_what_the_log_refuses_and_delivers_the_rest(
    tmp_path: Path, pg_url: str
) -> None:
    """``haad alerts deliver`` (AlertOutbox.deliver) stopped at such a state, saying the log was unreachable."""
    box = AlertOutbox(tmp_path / "outbox.db")
    nul = dataclasses.replace(state("nul", closed=True), profile="wa\x00lk")
    box.put([(1, state("before", closed=True)), (2, nul), (3, state("after", closed=True))])
    with AlertStore(pg_url) as store:
        assert box.deliver(store) == 2
    assert box.waiting() == 0
    box.close()
    assert [k for k, _, _ in rows(pg_url)] == ["after", "before"]
    assert aside(tmp_path / "outbox.db") == ["nul"]
