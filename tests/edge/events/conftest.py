"""Fixtures of the events tests: an alert log on a real SQLite file, Mosquitto brokers of a test's
own, notifiers running in threads; each gone after its test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mqtt_helpers import PrivateBroker

from edge.events.notifier import Notifier
from edge.store import AlertStore

NewBroker = Callable[[], PrivateBroker]
RunNotifier = Callable[[Notifier], None]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    with AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}") as s:
        yield s


@pytest.fixture
def new_broker(tmp_path: Path) -> Iterator[NewBroker]:
    """Private Mosquittos (not started: a test may add to ``conf`` first), each in a folder of its
    own; the test stops and starts them as it likes, never the shared one on 1883."""
    brokers: list[PrivateBroker] = []

    def new() -> PrivateBroker:
        folder = tmp_path / f"mosquitto{len(brokers)}"
        folder.mkdir()
        brokers.append(PrivateBroker(folder))
        return brokers[-1]

    try:
        yield new
    finally:
        for broker in brokers:
            broker.stop()


@pytest.fixture
def private_broker(new_broker: NewBroker) -> PrivateBroker:
    broker = new_broker()
    broker.start()
    return broker


@pytest.fixture
def run_notifier() -> Iterator[RunNotifier]:
    """``notifier.run`` in a thread of its own, till the test is over: then stopped and closed."""
    running: list[tuple[Notifier, threading.Event, threading.Thread]] = []

    def run(notifier: Notifier) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
        thread.start()
        running.append((notifier, stop, thread))

    try:
        yield run
    finally:
        for notifier, stop, thread in running:
            stop.set()
            thread.join(10)
            notifier.close()
