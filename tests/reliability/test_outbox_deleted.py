"""The alert outbox deleted, moved or replaced under a running worker (a careless cleanup, a
logrotate-like tool): before, its connections went on writing to the unlinked file, and every alert
state held there was lost when the worker exited. Each case runs a real alert writer on a real file
with the log down (so states only wait in the outbox), acts on the file at a given moment, and kills
the writer with SIGKILL: the file at the outbox's path must hold every state."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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


def run_killed_writer(outbox: Path, how: str, timing: str) -> str:
    """The writer's log (stderr); it is killed with SIGKILL once its last states are put."""
    body = textwrap.indent(textwrap.dedent(TIMINGS[timing]), "    ")
    script = f"""
import os, shutil, signal, time
from pathlib import Path
from config.store import StoreConfig
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
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
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
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert states(outbox) == [("a", 3, True), ("b", 3, True)], done.stderr
    assert "cannot carry the alert outbox over" in done.stderr
