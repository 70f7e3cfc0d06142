"""A SQLite alert log deleted or replaced under the review server and the notifier, each a real
process (``haad serve``, ``haad events run`` with a webhook on loopback): both go on with the file
now at the path. The API lists the alerts written to it after, and the webhook gets their events,
each once (by event id); before, both kept the old file until restarted, so the pages showed the old
alerts and these events were never sent."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import yaml
from mqtt_helpers import new_alert
from test_webhook import Receiver

from config.events import EventsConfig, WebhookConfig
from edge.events.notifier import Notifier
from edge.events.sinks import Sink
from edge.events.webhook import WebhookSink
from edge.store import AlertStore
from edge.store.engine import LogMoved
from edge.store.outbox import OutboxEvent
from tests.daemon_harness import free_port

WAIT_S = 15.0


def wait_for(condition: Callable[[], bool], what: Callable[[], str], logs: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            said = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(logs.glob("*.log")))
            raise AssertionError(f"timed out waiting for {what()}\n{said}")
        time.sleep(0.05)


def write(db: Path, stream: str) -> None:
    """An alert of ``stream`` written as the worker does after a move: a log opened afresh."""
    with AlertStore(f"sqlite:///{db}") as store:
        store.write_alerts([new_alert(stream)])


def listed(port: int) -> set[str] | None:
    """The cameras of the alerts the review API lists; None while it answers no list."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts?limit=500", timeout=5) as r:
            return {a["stream_id"] for a in json.load(r)["items"]}
    except OSError:  # a 503 while the log is away, or not listening yet
        return None


def received(receiver: Receiver) -> dict[tuple[str, str], set[int]]:
    """(camera, event type) -> the event ids the webhook got for it."""
    out: dict[tuple[str, str], set[int]] = {}
    for _, _, body in list(receiver.requests):
        event = json.loads(body)
        out.setdefault((event["alert"]["stream_id"], event["type"]), set()).add(event["event_id"])
    return out


def caught_up(port: int, receiver: Receiver, listing: set[str], new: str) -> bool:
    """Whether the API lists the cameras ``listing`` and the webhook got the event of ``new``'s alert."""
    return listed(port) == listing and (new, "open") in received(receiver)


def progress(port: int, receiver: Receiver, new: str) -> str:
    return f"{new} alone listed (listed: {listed(port)}) and its event (got: {received(receiver)})"


def move(act: str, db: Path, backup: Path) -> None:
    if act == "deleted":  # rm alerts.db*
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
    else:  # a backup put in its place, then the old file's -wal and -shm removed (as haad says)
        shutil.copyfile(backup, db.with_name("restored.db"))
        os.replace(db.with_name("restored.db"), db)
        time.sleep(0.3)  # the readers meet the old -wal and -shm beside it meanwhile
        for path in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    yield r
    r.close()


@pytest.mark.parametrize("act", ["deleted", "replaced"])
@pytest.mark.parametrize(
    "timing",
    [
        "early",  # as soon as both run, before they met any alert
        "late",  # after an alert was listed and its event sent
        "twice",  # ... and again after the first move's alert
    ],
)
def test_the_review_server_and_the_notifier_follow_the_log_to_its_new_file(
    tmp_path: Path, receiver: Receiver, act: str, timing: str
) -> None:
    db, backup, logs = tmp_path / "alerts.db", tmp_path / "backup.db", tmp_path / "logs"
    logs.mkdir()
    write(backup, "backup")
    write(db, "before")
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": {"url": f"sqlite:///{db}"},
                "events": {"webhooks": [{"name": "hook", "url": receiver.url}], "poll_s": 0.1},
            }
        )
    )
    port = free_port()
    commands = {
        "serve": ["serve", "--config", str(config), "--no-auth", "--port", str(port)],
        "events": ["events", "run", "--config", str(config)],
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "haad", *args],
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"{name}.log").open("w"),
        )
        for name, args in commands.items()
    ]
    try:
        wait_for(lambda: listed(port) == {"before"}, lambda: "the review server", logs)
        wait_for(
            lambda: "delivering events" in (logs / "events.log").read_text(), lambda: "the notifier", logs
        )
        rounds = {"early": 1, "late": 1, "twice": 2}[timing]
        if timing != "early":
            write(db, "r0")
            wait_for(lambda: listed(port) == {"before", "r0"}, lambda: "r0 listed", logs)
            wait_for(lambda: ("r0", "open") in received(receiver), lambda: "r0's event", logs)
        for n in range(1, rounds + 1):
            move(act, db, backup)
            write(db, f"r{n}")
            new, kept = f"r{n}", {"backup"} if act == "replaced" else set()
            wait_for(
                partial(caught_up, port, receiver, kept | {new}, new),
                partial(progress, port, receiver, new),
                logs,
            )
        streams = {f"r{n}" for n in range(0 if timing != "early" else 1, rounds + 1)}
        # Each written alert's event came, under one event id; none of the backup's old ones.
        assert received(receiver).keys() == {(s, "open") for s in streams}
        assert all(len(ids) == 1 for ids in received(receiver).values()), received(receiver)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


class MovingSink:
    """A webhook that, once it delivered its ``at``-th event, finds the log replaced by ``backup``
    and one more alert written there: a move between the notifier's read and its cursor update."""

    def __init__(self, sink: Sink, db: Path, backup: Path, at: int) -> None:
        self.sink, self.db, self.backup, self.at = sink, db, backup, at
        self.name, self.delivered = sink.name, 0

    def wants(self, event: OutboxEvent) -> bool:
        return True

    def deliver(self, event: OutboxEvent) -> None:
        self.sink.deliver(event)
        self.delivered += 1
        if self.delivered == self.at:
            move("replaced", self.db, self.backup)
            write(self.db, "restored")

    def close(self) -> None:
        self.sink.close()


@pytest.mark.parametrize("at", [1, 3])  # the first event of the batch read, the last
def test_events_read_from_the_old_file_move_no_cursor_of_the_new_one(
    tmp_path: Path, receiver: Receiver, at: int
) -> None:
    db, backup = tmp_path / "alerts.db", tmp_path / "backup.db"
    cfg = EventsConfig(webhooks=[WebhookConfig(name="hook", url=receiver.url)])
    write(db, "first")
    with AlertStore(f"sqlite:///{db}") as store:
        notifier = Notifier(
            cfg, store, [WebhookSink(cfg.webhooks[0])], new_sinks_from=datetime(2026, 1, 1, tzinfo=UTC)
        )
        assert notifier.step() == 1
        source, copy = sqlite3.connect(db), sqlite3.connect(backup)
        source.backup(copy)  # a backup whose cursor is past "first"
        source.close()
        copy.close()
        for n in range(3):
            write(db, f"old{n}")
        notifier.sinks = [MovingSink(notifier.sinks[0], db, backup, at)]
        for _ in range(5):
            try:
                notifier.step()
            except LogMoved:  # its cursor update after the move: the events were the old file's
                pass
        notifier.close()
    got = received(receiver)
    assert ("restored", "open") in got, got  # the backup's event after its cursor: not skipped
    assert got.keys() == {(s, "open") for s in ("first", "old0", "old1", "old2", "restored")}
