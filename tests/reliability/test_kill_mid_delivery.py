"""``haad alerts deliver`` killed with SIGKILL at several moments of its delivery (opening the log,
between batches, inside one), then run again: every alert the outbox held is in the log once, as its
newest state; none lost, split or written twice."""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from config.store import StoreConfig
from edge.alert_outbox import AlertOutbox
from edge.alerts_sink import AlertSink
from tests.edge.test_alerts_sink import event, wait_for, waiting
from tests.forked import haad_script, run_forked, start_forked
from tests.reliability.test_outbox_damage import down

# States per transaction of `haad alerts deliver`; three batches, the last a short one.
BATCH = inspect.signature(AlertOutbox.deliver).parameters["batch"].default
EPISODES = 2 * BATCH + 2


def outbox_of_a_stopped_daemon(outbox: Path) -> list[tuple[str, int, bool]]:
    """States a daemon left in its outbox while the log was down; the rows they must become."""
    sink = AlertSink(StoreConfig(url=down(outbox.parent)), outbox, model_version="m1")
    sink.start(["cam0"])
    for i in range(EPISODES):
        sink.write([event("opened", f"e{i:03}", 3, 3.0)])
        if i % 3:
            sink.write([event("closed", f"e{i:03}", 5, 5.0)])
    # All in the outbox before the close, which gives them 1 s (the log is down): a loaded host's
    # writer could still be at it then.
    wait_for(lambda: sink.health().unsaved == 0)
    sink.close(timeout_s=1.0)
    assert waiting(outbox) == EPISODES
    return sorted((f"e{i:03}", 5 if i % 3 else 3, bool(i % 3)) for i in range(EPISODES))


@pytest.fixture(scope="module")
def stopped_daemons_outbox(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[str, int, bool]]]:
    """The folder of :func:`outbox_of_a_stopped_daemon`'s outbox (made once: each case copies it)."""
    folder = tmp_path_factory.mktemp("stopped-daemon")
    return folder, outbox_of_a_stopped_daemon(folder / "alert-outbox.db")


def every_row(db: Path) -> list[tuple[str, int, bool]]:
    with sqlite3.connect(db) as c:
        found = c.execute(
            "SELECT episode_key, n_windows, ended_at IS NOT NULL FROM alerts ORDER BY 1"
        ).fetchall()
    return [(key, n, bool(ended)) for key, n, ended in found]


def written(db: Path) -> int:
    """Rows in the log so far, -1 before its alerts table is there."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return int(c.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])
    except sqlite3.Error:
        return -1


# When to kill: once the log file appears and `later_s` after (opening it, its schema being made), or
# once `rows` are in it (after the first, second and last batch, before the outbox is marked).
MOMENTS = [
    ("file", 0.0),
    ("file", 0.05),
    ("file", 0.2),
    ("rows", 1),
    ("rows", BATCH),
    ("rows", 2 * BATCH),
    ("rows", EPISODES),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=[f"{k}-{v}" for k, v in MOMENTS])
def test_a_delivery_killed_at_any_moment_and_run_again_writes_every_alert_once(
    tmp_path: Path,
    moment: tuple[str, float],
    stopped_daemons_outbox: tuple[Path, list[tuple[str, int, bool]]],
) -> None:
    made, expected = stopped_daemons_outbox
    for f in made.iterdir():
        shutil.copy(f, tmp_path / f.name)
    db = tmp_path / "alerts.db"
    config = tmp_path / "edge.yaml"
    config.write_text(f"streams: []\nstore: {{url: 'sqlite:///{db}'}}\nstate_dir: {tmp_path}\n")
    deliver = haad_script("alerts", "deliver", "--config", str(config))
    first = start_forked(deliver, tmp_path / "first")
    kind, at = moment
    ended = (0, 0)
    while ended == (0, 0) and not (db.exists() if kind == "file" else written(db) >= at):
        time.sleep(0.005)
        ended = os.waitpid(first, os.WNOHANG)
    if kind == "file":
        time.sleep(at)
    if ended == (0, 0):  # not reaped yet: a child that ended meanwhile is still its pid
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)
    print(f"killed at {kind} {at}: {written(db)} rows written")
    again = run_forked(deliver, tmp_path / "again")
    assert again.returncode == 0, again.stderr[-2000:]
    assert every_row(db) == expected
    assert waiting(tmp_path / "alert-outbox.db") == EPISODES // 3 + 1  # the open ones stay, for resuming
