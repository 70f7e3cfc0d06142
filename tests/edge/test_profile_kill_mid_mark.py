"""``haad alerts review --normal`` SIGKILLed at each moment of writing the profile's new version: the
worker keeps serving the version before (or takes the new one whole), the next mark is neither
blocked nor refused for ever, and what the profile holds is what the review shows and undo takes."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from config.edge import EdgeConfig
from edge import services
from edge.feedback import FeedbackSettler, current_feedback, feedback_history
from edge.profiles import ProfileStore, ProfileWatcher
from edge.store import AlertStore
from tests.edge.review.review_helpers import Seeded, seed
from tests.edge.test_alerts_sink import wait_for
from tests.forked import run_forked

# `haad ARGS` killing itself at one moment (MOMENT) of marking an alert normal or undoing that: amid
# the version's .npz, between its .npz and its .json, amid the .json, once both files are in place
# but before the alert log commits the feedback row ("saved"), as the alert's status is set
# ("status"), or once the alert log committed the transaction that saved the version ("committed").
_DIES_MARKING = """
import os, signal
from contextlib import contextmanager
import edge.profiles as profiles
from edge.store import AlertStore
from haad.cli import app

MOMENT, ARGS = {moment!r}, {args!r}
real_write, real_save, real_status = profiles.atomic_write, profiles.ProfileStore.save, AlertStore.set_status
real_writing, saves = AlertStore.writing, []

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def dying_write(path, write, **kw):
    def half(f):
        f.write(b"PK\\x03\\x04 half")
        f.flush()
        die()
    if MOMENT == f"amid {{path.suffix}}":
        return real_write(path, half, **kw)
    if MOMENT == "between" and path.suffix == ".json":
        die()
    return real_write(path, write, **kw)

def dying_save(self, profile):
    saved = real_save(self, profile)
    saves.append(saved.version)
    if MOMENT == "saved":
        die()
    return saved

def dying_status(self, *a, **kw):
    if MOMENT == "status":
        die()
    return real_status(self, *a, **kw)

@contextmanager
def dying_writing(self):
    with real_writing(self) as s:
        yield s
    if MOMENT == "committed" and saves:
        die()

profiles.atomic_write, profiles.ProfileStore.save = dying_write, dying_save
AlertStore.set_status, AlertStore.writing = dying_status, dying_writing
app(ARGS, prog_name="haad")
"""


def _seeded(tmp_path: Path, url: str) -> Seeded:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    return seed(url, profiles)


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return _seeded(tmp_path, f"sqlite:///{tmp_path / 'alerts.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded_any(request: pytest.FixtureRequest, tmp_path: Path) -> Seeded:
    """:func:`seeded` in an SQLite file or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return _seeded(tmp_path, f"sqlite:///{tmp_path / 'alerts.db'}")
    return _seeded(tmp_path, request.getfixturevalue("pg_url"))


def _review(tmp_path: Path, seeded: Seeded, alert_id: int, *flags: str) -> list[str]:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles)}))
    return ["alerts", "review", str(alert_id), "--scope", "all", "--yes", "--config", str(cfg), *flags]


def test_a_mark_killed_at_any_moment_of_its_save_leaves_the_profile_and_the_review_agreeing(
    tmp_path: Path, seeded: Seeded
) -> None:
    """Killed before the version is whole: no version, and the next mark makes it. Killed once it is
    whole but before the alert log recorded it: the worker serves it, so the review must say the
    alert is in the profile and undo must take it out (it said "not in any profile" and refused the
    mark again with "already in": the mark could be neither redone nor undone), and the alert log
    must record it and dismiss the alert, as a whole mark does."""
    store, said = ProfileStore(seeded.profiles), tmp_path / "said"
    watcher = ProfileWatcher(store, {"demo-walk"})
    assert [p.version for p in watcher.poll()[0]] == [1]
    first, second = seeded.ids[0], seeded.ids[1]
    for moment in ("amid .npz", "between", "amid .json", "amid .npz"):  # killed twice at one moment too
        args = _review(tmp_path, seeded, first, "--normal")
        killed = run_forked(_DIES_MARKING.format(moment=moment, args=args), said)
        assert killed.returncode == -signal.SIGKILL, (moment, killed.stderr)
        assert watcher.poll() == ([], {}, []), moment  # the worker keeps serving v1
        assert store.versions("demo-walk") == [1]
    with AlertStore(seeded.url) as log:
        assert current_feedback(log, store, first) is None and log.get_alert(first).status == "new"

    for alert_id, moment in ((first, "saved"), (second, "committed")):
        killed = run_forked(_DIES_MARKING.format(moment=moment, args=_review(tmp_path, seeded, alert_id, "--normal")), said)  # fmt: skip
        assert killed.returncode == -signal.SIGKILL, (moment, killed.stderr)
        (served,), failed, _ = watcher.poll()  # whole: the worker takes it, and the alert's action is normal
        assert not failed and str(alert_id) in served.meta["feedback_groups"], moment
        with AlertStore(seeded.url) as log:
            assert current_feedback(log, store, alert_id) == "demo-walk", moment
            # and the log says so: its row, the alert dismissed (it was left "new", as if unreviewed)
            assert [h["action"] for h in feedback_history(log, alert_id)] == ["normal"], moment
            assert log.get_alert(alert_id).status == "dismissed", moment
        again = run_forked(_DIES_MARKING.format(moment="", args=_review(tmp_path, seeded, alert_id, "--normal")), said)  # fmt: skip
        assert (again.returncode, again.stderr) == (
            1, f"error: alert {alert_id} is already normal in demo-walk: undo that first: haad alerts review {alert_id} --undo-normal\n"
        )  # fmt: skip
    assert store.versions("demo-walk") == [1, 2, 3]

    for alert_id in (first, second):  # undone, then marked again: each a whole version
        for flag in ("--undo-normal", "--normal"):
            done = run_forked(_DIES_MARKING.format(moment="", args=_review(tmp_path, seeded, alert_id, flag)), said)  # fmt: skip
            assert done.returncode == 0, (flag, done.stderr)
    (served,), failed, _ = watcher.poll()
    assert served.version == 7 and not failed
    assert {str(first), str(second)} <= set(served.meta["feedback_groups"])
    with AlertStore(seeded.url) as log:
        assert [log.get_alert(i).status for i in (first, second)] == ["dismissed", "dismissed"]
    # The killed runs' temporary files went with the next save; no version lacks a file.
    assert sorted(p.name for p in (seeded.profiles / "demo-walk").iterdir()) == [
        ".feedback.lock",
        *(f"v{v:04d}.{s}" for v in range(1, 8) for s in ("json", "npz")),
    ]


def test_an_undo_killed_at_any_moment_leaves_the_alert_reopened_exactly_when_its_windows_are_out(
    tmp_path: Path, seeded_any: Seeded
) -> None:
    """A mark killed once its row committed dismisses the alert all the same (it stayed "new": the
    status was its own transaction). An undo killed before its version is whole changes nothing;
    killed once it is whole (the worker serves it without the alert's windows), the alert is
    reopened with its row, as a whole undo leaves it (it stayed "dismissed" and "normal: added to"
    with no profile holding it). Early, late, and twice over one undo."""
    seeded, store, said = seeded_any, ProfileStore(seeded_any.profiles), tmp_path / "said"
    watcher = ProfileWatcher(store, {"demo-walk"})
    watcher.poll()
    alert_id = seeded.ids[0]

    def review(moment: str, flag: str) -> int:
        args = _review(tmp_path, seeded, alert_id, flag)
        return run_forked(_DIES_MARKING.format(moment=moment, args=args), said).returncode

    def said_by_log() -> tuple[str | None, str, list[str]]:
        with AlertStore(seeded.url) as log:
            where = current_feedback(log, store, alert_id)
            return (
                where,
                log.get_alert(alert_id).status,
                [h["action"] for h in feedback_history(log, alert_id)],
            )

    assert review("status", "--normal") == -signal.SIGKILL
    assert said_by_log() == ("demo-walk", "dismissed", ["normal"])
    assert [p.version for p in watcher.poll()[0]] == [2]
    for moment in ("amid .npz", "between", "amid .json", "amid .json"):  # nothing changed
        assert review(moment, "--undo-normal") == -signal.SIGKILL, moment
        assert watcher.poll() == ([], {}, []), moment
        assert said_by_log() == ("demo-walk", "dismissed", ["normal"]), moment
    undone = ["normal"]
    for moment in ("saved", "status", "committed"):  # the version whole: undone
        assert review(moment, "--undo-normal") == -signal.SIGKILL, moment
        (served,), failed, _ = watcher.poll()
        assert not failed and str(alert_id) not in served.meta["feedback_groups"], moment
        undone += ["undo"]
        assert said_by_log() == (None, "new", undone), moment
        assert review("", "--normal") == 0, moment
        undone += ["normal"]
        assert said_by_log() == ("demo-walk", "dismissed", undone), moment
        watcher.poll()
    assert review("", "--undo-normal") == 0
    assert said_by_log() == (None, "new", [*undone, "undo"])
    assert store.versions("demo-walk") == list(range(1, 10))


def test_an_alert_of_the_same_id_in_a_profile_from_another_sites_log_is_not_taken_for_this_one(
    seeded: Seeded,
) -> None:
    """Without a row, an alert is found in its profile by its episode key too: a profile copied from
    another site holds that site's alert of the same id, which is not this log's alert."""
    store = ProfileStore(seeded.profiles)
    alert_id = seeded.ids[0]
    v1 = store.load("demo-walk")
    with AlertStore(seeded.url) as log:
        own = log.get_alert(alert_id).episode_key
        for episode, found in (("elsewhere-door-demo-walk-1", None), (own, "demo-walk")):
            meta = {
                **v1.meta,
                "feedback_groups": {str(alert_id): 0},
                "feedback_episodes": {str(alert_id): episode},
            }
            store.save(replace(v1, meta=meta))
            assert current_feedback(log, store, alert_id) == found, episode


def test_housekeeping_records_a_killed_mark_or_undo_so_the_alert_list_says_it_without_the_alert_opened(
    tmp_path: Path, seeded: Seeded, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alert list (the review page's, ``haad alerts list``) said "new" for an alert whose windows a
    mark killed once its version was saved had put in the profile, and "dismissed" for one a killed
    undo had taken out, until someone opened that alert. Housekeeping records them: at its start,
    and within ``reload_every_s`` of the version; with the alert log locked, once it answers again.
    Killed at "saved" and at "status", before housekeeping started and while it runs."""
    first, second, third = seeded.ids[:3]
    said = tmp_path / "said"

    def killed(alert_id: int, moment: str, flag: str = "--normal") -> None:
        # A new interpreter, not a fork (tests.forked): this process holds housekeeping's
        # connections to the same SQLite file, and a forked child inherits SQLite's bookkeeping of
        # their locks (it failed "database is locked" at open now and then).
        script = _DIES_MARKING.format(moment=moment, args=_review(tmp_path, seeded, alert_id, flag))
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert run.returncode == -signal.SIGKILL, (alert_id, moment, run.stderr)

    def listed() -> dict[int, str]:
        with AlertStore(seeded.url) as log:
            return {a.id: a.status for a in log.list_alerts()}

    killed(first, "saved")  # before housekeeping starts: its first round records it
    assert listed()[first] == "new"
    cfg = EdgeConfig.model_validate(
        {"store": {"url": seeded.url, "busy_timeout_s": 0.2}, "profiles_dir": str(seeded.profiles),
         "state_dir": str(tmp_path), "reload_every_s": 0.2}
    )  # fmt: skip
    caplog.set_level(logging.WARNING)
    # Polls held back while the log is being locked: one every 0.2 s recorded the version between
    # the kill and the lock now and then, and the locked log was never met.
    polling, real_poll = threading.Event(), FeedbackSettler.poll
    polling.set()

    def held_poll(self: FeedbackSettler) -> None:
        polling.wait()
        real_poll(self)

    monkeypatch.setattr(FeedbackSettler, "poll", held_poll)
    stop = threading.Event()
    housekeeping = threading.Thread(target=services.run_housekeeping, args=(cfg, stop))
    housekeeping.start()
    try:
        wait_for(lambda: listed()[first] == "dismissed", 10)
        killed(second, "status")  # while it runs
        wait_for(lambda: listed()[second] == "dismissed", 10)
        killed(first, "saved", "--undo-normal")
        wait_for(lambda: listed()[first] == "new", 10)
        # The log locked as the version appears: tried again, recorded once it answers.
        holder = sqlite3.connect(tmp_path / "alerts.db", isolation_level=None)
        try:
            polling.clear()
            time.sleep(0.5)  # a poll already begun ends
            killed(third, "saved")
            holder.execute("BEGIN EXCLUSIVE")
            polling.set()
            wait_for(lambda: any("cannot settle" in r.getMessage() or "not in the alert log yet" in r.getMessage()
                                 for r in caplog.records), 10)  # fmt: skip
        finally:
            holder.close()
        wait_for(lambda: listed()[third] == "dismissed", 10)
    finally:
        stop.set()
        housekeeping.join(30)
    assert housekeeping.is_alive() is False
    with AlertStore(seeded.url) as log:
        assert [[h["action"] for h in feedback_history(log, i)] for i in (first, second, third)] == [
            ["normal", "undo"], ["normal"], ["normal"]
        ]  # fmt: skip
    cli = run_forked(f"from haad.cli import app\napp({['alerts', 'list', '--json', '--db', seeded.url]!r}, prog_name='haad')", said)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    shown = {a["id"]: a["status"] for a in json.loads(cli.stdout)}
    assert [shown[i] for i in (first, second, third)] == ["new", "dismissed", "dismissed"]


@pytest.mark.parametrize("settled_by", ["the undo run again", "housekeeping"])
def test_an_undo_run_again_after_it_was_killed_once_its_version_was_saved_says_it_is_done(
    tmp_path: Path, seeded: Seeded, settled_by: str
) -> None:
    """It recorded the undo, then exited 1 with "alert N is not in any profile": as if the undo had
    failed, though it was done. Recorded by the run itself, or by housekeeping before it."""
    alert_id, said = seeded.ids[0], tmp_path / "said"

    def review(moment: str, flag: str) -> tuple[int, str, str]:
        run = run_forked(
            _DIES_MARKING.format(moment=moment, args=_review(tmp_path, seeded, alert_id, flag)), said
        )
        return run.returncode, run.stdout, run.stderr

    assert review("", "--normal")[0] == 0
    assert review("saved", "--undo-normal")[0] == -signal.SIGKILL
    if settled_by == "housekeeping":
        with AlertStore(seeded.url) as log:
            FeedbackSettler(log, ProfileStore(seeded.profiles)).poll()
    code, out, err = review("", "--undo-normal")
    assert code == 0, err  # (on stderr, the warning that it recorded the undo, when it did)
    assert out.endswith(f"alert {alert_id}: already undone: removed from demo-walk -> v3\n"), out
    with AlertStore(seeded.url) as log:
        assert [h["action"] for h in feedback_history(log, alert_id)] == ["normal", "undo"]
        assert log.get_alert(alert_id).status == "new"
    assert ProfileStore(seeded.profiles).versions("demo-walk") == [1, 2, 3]
