"""The alert outbox deleted, moved or replaced under a running worker (a careless cleanup, a
logrotate-like tool): before, its connections went on writing to the unlinked file, and every alert
state held there was lost when the worker exited. Each case runs a real alert writer on a real file
with the log down (so states only wait in the outbox), acts on the file at a given moment, and kills
the writer with SIGKILL: the file at the outbox's path must hold every state."""

from __future__ import annotations

import signal
import sqlite3
import textwrap
from pathlib import Path

import pytest

from config.store import StoreConfig
from edge.alert_outbox import recover_at_start
from edge.alerts_sink import AlertSink
from tests.edge.test_alerts_sink import rows
from tests.forked import haad, run_forked
from tests.reliability.test_outbox_damage import down

# What is done to the outbox file: by a hand (rm), by a cleanup of the folder, by log rotation.
ACTS = {
    "unlink": "path.unlink(missing_ok=True)",
    "unlink_with_side_files": "[Path(f'{path}{s}').unlink(missing_ok=True) for s in ('', '-wal', '-shm')]",
    "rename": "path.exists() and path.rename(path.with_name(path.name + f'.{time.monotonic_ns()}'))",
    "remove_its_folder": "shutil.rmtree(path.parent, ignore_errors=True)",
    # An older copy of it (its main file only) put in its place, as restoring a backup would.
    "replace_with_an_older_copy": "shutil.copy(path, path.with_name('copy')); os.replace(path.with_name('copy'), path)",
    # Its write-ahead log deleted (the file itself stays): the states not yet checkpointed are there.
    "unlink_its_wal": "Path(f'{path}-wal').unlink(missing_ok=True)",
    # Cut to 0 bytes in place: noticed as the file shrank (an outbox never does).
    "truncate": "os.truncate(path, 0)",
}
# When, and what the writer writes around it; each `act` runs ACTS[how] with the writer running.
TIMINGS = {
    "before_the_first_alert": """
        act()
        put(event("opened", "a", 3, 3.0))
    """,
    "during_an_open_episode": """
        put(event("opened", "a", 3, 3.0))
        act()
        put(event("opened", "a", 5, 5.0), event("opened", "b", 3, 3.0))
    """,
    "twice": """
        put(event("opened", "a", 3, 3.0))
        act()
        put(event("opened", "b", 3, 3.0))
        act()
        put(event("closed", "a", 7, 7.0))
    """,
}
EXPECTED = {
    "before_the_first_alert": [("a", 3, True)],
    "during_an_open_episode": [("a", 5, True), ("b", 3, True)],
    "twice": [("a", 7, False), ("b", 3, True)],
}


def run_killed_writer(outbox: Path, how: str, timing: str, kill: str = "") -> str:
    """The writer's log (stderr); it is killed with SIGKILL once its last states are put, or where
    ``kill`` (code run first in the writer, KILLS) kills it."""
    body = textwrap.indent(textwrap.dedent(TIMINGS[timing]), "    ")
    script = f"""
import os, shutil, signal, sys, time
from pathlib import Path
from config.store import StoreConfig
{textwrap.dedent(kill)}
from edge.alerts_sink import AlertSink
from tests.edge.test_alerts_sink import event, wait_for

path = Path({str(outbox)!r})
sink = AlertSink(StoreConfig(url={down(outbox.parent.parent)!r}), path, model_version="m1")
sink.start(["cam0"])
wait_for(path.exists)
time.sleep(0.3)  # the delivery loop has the file open too

def act():
    {ACTS[how]}
    time.sleep(0.2)

def put(*events):
    sink.write(list(events))
    time.sleep(0.1)
    wait_for(lambda: sink.health().unsaved == 0)

def main():
{body}
main()
time.sleep(0.3)  # a delivery round reads the outbox
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = run_forked(script, outbox.parent.parent / "writer")
    assert done.returncode == -signal.SIGKILL, done.stderr
    return done.stderr


def states(outbox: Path) -> list[tuple[str, int, bool]]:
    """(episode key, windows, still open) of every state in the file at ``outbox``."""
    assert outbox.exists(), "no outbox at its path"
    db = sqlite3.connect(outbox)
    try:
        found = db.execute("SELECT episode_key, json_extract(fields, '$.n_windows'), open FROM outbox")
        return sorted((k, n, bool(o)) for k, n, o in found)
    finally:
        db.close()


@pytest.mark.parametrize(
    ("how", "timing"),
    # Every timing for a deletion and a cut, the main timing for the others (CI time).
    [
        (how, timing)
        for how in ACTS
        for timing in TIMINGS
        if how in ("unlink", "truncate") or timing == "during_an_open_episode"
    ],  # fmt: skip
)
def test_an_outbox_deleted_or_moved_under_a_running_writer_loses_no_alert(
    tmp_path: Path, how: str, timing: str
) -> None:
    outbox = tmp_path / "state" / "outbox.db"
    err = run_killed_writer(outbox, how, timing)
    assert states(outbox) == EXPECTED[timing], err
    assert "cut short while in use" in err  # carried over, or (cut) set aside: one error says which
    left = [p.name for p in outbox.parent.iterdir() if ".damaged-" in p.name or ".carried-" in p.name]
    # Nothing is left for the next start to set aside as damaged (a write-ahead log of another file);
    # a file cut where the states were no longer all in its write-ahead log is kept aside for recovery,
    # its states put again from the writer's memory.
    assert not left or (how == "truncate" and all(".damaged-" in name for name in left))


def test_an_outbox_that_cannot_be_carried_over_keeps_its_states_until_it_can(tmp_path: Path) -> None:
    """The outbox's folder removed and a file put in its place: no new outbox can be made, so the old
    file stays open (its states alive in the worker), the new state waits in memory and health says
    the outbox fails; once the folder can be made again, both reach the file at the path."""
    outbox = tmp_path / "state" / "outbox.db"
    script = f"""
import os, shutil, signal, time
from pathlib import Path
from config.store import StoreConfig
from edge.alert_outbox import recover_at_start
from edge.alerts_sink import AlertSink
from tests.edge.test_alerts_sink import event, wait_for

path = Path({str(outbox)!r})
sink = AlertSink(StoreConfig(url={down(tmp_path)!r}), path, model_version="m1")
sink.start(["cam0"])
sink.write([event("opened", "a", 3, 3.0)])
wait_for(lambda: path.exists() and sink.health().unsaved == 0)
shutil.rmtree(path.parent)
path.parent.write_text("a file where the folder was")
sink.write([event("opened", "b", 3, 3.0)])
wait_for(lambda: sink.health().outbox_error is not None)
assert sink.health().unsaved == 1
path.parent.unlink()
wait_for(lambda: sink.health().unsaved == 0 and sink.health().outbox_error is None, timeout_s=15)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = run_forked(script, tmp_path / "writer")
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert states(outbox) == [("a", 3, True), ("b", 3, True)], done.stderr
    assert "cannot carry the alert outbox over" in done.stderr


# Where a carry-over is killed (SIGKILL, as a power loss would): code run first in the writer (after
# DIE), which kills it at that moment of edge.alert_outbox._carry_over.
DIE = """
import edge.alert_outbox as outbox_module
def die():
    print("killed mid carry-over", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""
KILLS = {
    # The states copied to the side file; the old file's connections still open.
    "copied": """
copy = outbox_module._copy
def copied(*args):
    found = copy(*args)
    die()
    return found
outbox_module._copy = copied
""",
    # The old file closed, the side file not yet at the path.
    "closed": "outbox_module._adopt = lambda *args: die()\n",
    # The side file linked (or merged) into place, not yet removed.
    "linked": """
unlink = Path.unlink
def unlinked(self, missing_ok=False):
    if ".carried-" in self.name and not self.name.endswith("-journal"):
        die()
    unlink(self, missing_ok=missing_ok)
Path.unlink = unlinked
""",
}


def start_and_stop(outbox: Path, url: str) -> None:
    sink = AlertSink(StoreConfig(url=url), outbox, model_version="m1")
    sink.start(["cam0"])
    sink.close()


@pytest.mark.parametrize("how", ["unlink", "replace_with_an_older_copy"])  # the side file linked, or merged
@pytest.mark.parametrize("moment", list(KILLS))
def test_a_carry_over_killed_midway_leaves_nothing_the_next_start_does_not_deliver(
    tmp_path: Path, how: str, moment: str
) -> None:
    """Before, the side file a carry-over killed midway left was never read again: its states (here
    all of them once the old file was closed) were never delivered."""
    outbox = tmp_path / "state" / "outbox.db"
    err = run_killed_writer(outbox, how, "during_an_open_episode", kill=DIE + KILLS[moment])
    assert "killed mid carry-over" in err, err
    left = {p: p.read_bytes() for p in outbox.parent.iterdir() if ".carried-" in p.name}
    assert left, "no side file left"
    url = f"sqlite:///{tmp_path}/alerts.db"
    start_and_stop(outbox, url)
    assert rows(url) == [("a", 3, False)]  # the state put before the carry-over (the next ones died)
    assert not [p.name for p in outbox.parent.iterdir() if ".carried-" in p.name]
    # A start killed after taking a side file in, before removing it: taking it in again changes nothing
    # (a state no newer than the outbox's is not taken; the log writes by episode key).
    for p, data in left.items():
        p.write_bytes(data)
    start_and_stop(outbox, url)
    assert rows(url) == [("a", 3, False)]
    assert not [p.name for p in outbox.parent.iterdir() if ".carried-" in p.name]


def test_haad_alerts_deliver_delivers_a_side_file_a_killed_carry_over_left(tmp_path: Path) -> None:
    """The outbox deleted and the carry-over killed before its side file was at the path: deliver said
    there was nothing to deliver."""
    state = tmp_path / "state"
    run_killed_writer(
        state / "alert-outbox.db", "unlink", "during_an_open_episode", kill=DIE + KILLS["closed"]
    )
    (tmp_path / "edge.yaml").write_text(
        f"streams: []\nstore: {{url: 'sqlite:///{tmp_path}/alerts.db'}}\nstate_dir: {state}\n"
    )
    done = haad("alerts", "deliver", "--config", str(tmp_path / "edge.yaml"), said=tmp_path / "deliver")
    # 3: the deleted file's write-ahead log, left at the path, is set aside as damaged for recovery by hand.
    assert done.returncode == 3 and "delivered 1 alert(s)" in done.stdout, done.stdout + done.stderr[-2000:]
    assert rows(f"sqlite:///{tmp_path}/alerts.db") == [("a", 3, False)]
    assert not [p.name for p in state.iterdir() if ".carried-" in p.name]


def test_a_start_names_the_damaged_outboxes_still_waiting_for_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file set aside as damaged at an earlier start was named only then; each start names it again
    until it is recovered and removed (a write-ahead log set aside alone too)."""
    outbox = tmp_path / "outbox.db"
    aside = [
        tmp_path / "outbox.db.damaged-20261201T101010.000001Z",
        tmp_path / "outbox.db.damaged-20261202T101010.000002Z-wal",
    ]
    for p in aside:
        p.write_bytes(b"states to recover")
    start_and_stop(outbox, f"sqlite:///{tmp_path}/alerts.db")
    said = [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "damaged" in r.getMessage()
    ]
    assert len(said) == 1 and all(p.name in said[0] for p in aside), said
    assert all(p.read_bytes() == b"states to recover" for p in aside)  # never taken in by itself


def test_a_side_file_killed_while_being_written_is_rolled_back_before_it_is_taken_in(tmp_path: Path) -> None:
    """A copy killed before its commit leaves pages in the side file and its journal beside it:
    linked as it is, the outbox held half a copy (an index out of step with its table). Its journal
    rolls it back first (its states were all still in the old file)."""
    side = tmp_path / "outbox.db.carried-20261207T010101.000001Z"
    script = f"""
import os, signal, sqlite3
from edge.alert_outbox import _prepare
db = sqlite3.connect({str(side)!r}, isolation_level=None)
db.execute("PRAGMA cache_size = 2")  # pages go to the file before the commit, as a long copy's do
_prepare(db, "main")
db.execute("BEGIN IMMEDIATE")
for i in range(300):
    db.execute("INSERT INTO outbox (episode_key, stream_id, open, fields, arrays) VALUES (?, 'cam0', 1, '{{}}', ?)",
               (f"e{{i}}", b"x" * 3000))
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = run_forked(script, tmp_path / "writer")
    assert done.returncode == -signal.SIGKILL and Path(f"{side}-journal").exists()
    outbox = tmp_path / "outbox.db"
    recover_at_start(outbox)
    db = sqlite3.connect(outbox)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
    finally:
        db.close()
    assert not [p.name for p in tmp_path.iterdir() if ".carried-" in p.name]
