"""give_up_after_s is the time a webhook refused the event it is on, outages left out: a receiver
down (connections refused, through a TcpProxy in front of a real HTTP receiver) before, between or
after its refusals makes no event skipped sooner, and the refusal time is the event's own.

Each round of a script is one notifier step on an injected clock: ``R`` the receiver refuses the
next event (500) and 10 s pass (the back-off); ``T`` it takes one event and refuses the one after,
10 s; ``D`` it is down and 20 minutes pass. give_up_after_s is 60 s."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from mqtt_helpers import new_alert
from test_webhook import Clock, Receiver

from config.events import EventsConfig, WebhookConfig
from edge.events.notifier import Notifier
from edge.events.webhook import WebhookSink
from edge.store import AlertStore
from edge.store.outbox import CursorState, pending_events
from tests.faults import TcpProxy

_ROUND = {"R": ([500], timedelta(seconds=10)), "T": ([200, 500], timedelta(seconds=10))}
_DOWN = timedelta(minutes=20)


class Hook:
    """A receiver behind a proxy that takes it down and back, a notifier for it on ``clock``."""

    def __init__(self, store: AlertStore) -> None:
        self.receiver = Receiver([])
        self.proxy = TcpProxy(("127.0.0.1", int(urlsplit(self.receiver.url).port or 0)))
        self.cfg = EventsConfig(
            webhooks=[WebhookConfig(name="ops", url=f"http://127.0.0.1:{self.proxy.port}/hook", timeout_s=5)],
            initial_backoff_s=10, max_backoff_s=10, poll_s=1, give_up_after_s=60,
        )  # fmt: skip
        self.clock = Clock()
        self.store = store
        self.notifier = self.restarted()

    def restarted(self) -> Notifier:
        return Notifier(self.cfg, self.store, [WebhookSink(self.cfg.webhooks[0])], clock=self.clock)

    def play(self, script: str) -> None:
        for i, step in enumerate(script.replace(" ", "")):
            if step == "D":
                self.proxy.set("refuse")
                assert self.notifier.step() == 0
                self.proxy.set("forward")
                self.clock.now += _DOWN
            else:
                statuses, wait = _ROUND[step]
                self.receiver.statuses = list(statuses)
                delivered = self.notifier.step()
                why = f"{script}: round {i} ({step}), skipped {self.state().skipped}"
                assert delivered == len(statuses) - 1 and self.receiver.statuses == [], (
                    why
                )  # each answer asked for
                self.clock.now += wait

    def state(self) -> CursorState:
        [state] = self.notifier.states()
        return state

    def taken(self) -> list[int]:
        """The event ids the receiver took (answered 200), in order."""
        return [json.loads(body)["event_id"] for status, _, body in self.receiver.requests if status == 200]

    def close(self) -> None:
        self.proxy.close()
        self.receiver.close()


@pytest.fixture
def hook(store: AlertStore) -> Iterator[Hook]:
    h = Hook(store)
    yield h
    h.close()


def _events(store: AlertStore) -> list[int]:
    """An alert's open and close events, written after the notifier started (it starts after the
    events already there)."""
    store.write_alerts([new_alert("a", closed=True)])
    with store.reading() as s:
        return [e.id for e in pending_events(s, 0, 10)]


@pytest.mark.parametrize(
    "script, refused_s",
    [
        # Down first, the first event refused 50 s, taken after 60 s of its refusals with the second
        # refused at once: that second one was skipped at its first refusal (the first's clock).
        ("DDD RRRRRR T RRRRR", 50),
        # Refused 20 s, down 2 hours, refused 30 s more: skipped at its first refusal after the outage.
        ("RRR DDDDDD RRRR", 50),
        # Refused 50 s, down 2 hours, taken back with the next one refused: that one was skipped.
        ("RRRRRR DDDDDD T R", 10),
        # Outages between every two refusals, the first event refused 40 s in all.
        ("RR D RR DD RR D RR", 40),
    ],
    ids=["outage-before", "outage-between", "outage-after", "outages-between-each"],
)
def test_an_outage_before_between_or_after_refusals_skips_no_event(
    hook: Hook, script: str, refused_s: float
) -> None:
    events = _events(hook.store)
    hook.play(script)
    state = hook.state()
    assert (state.skipped, state.pending) == (0, 2 - script.count("T")), script
    assert state.refused_s == refused_s  # the event's refusals alone
    assert hook.notifier.step() == state.pending  # the receiver takes them
    assert hook.taken() == events
    assert (hook.state().skipped, hook.state().pending, hook.state().delivered) == (0, 0, 2)


@pytest.mark.parametrize("script", ["RRR DDDDDD RRRR", "RR D RRR D RRR D R"])
def test_an_event_refused_for_give_up_after_s_between_outages_is_skipped_alone_counted_and_logged(
    hook: Hook, script: str, caplog: pytest.LogCaptureFixture
) -> None:
    """50 s of refusals with outages between: kept; one more refusal (60 s): skipped, the next goes out."""
    first, second = _events(hook.store)
    with caplog.at_level(logging.ERROR, logger="haad.events"):
        hook.play(script)
        assert hook.state().skipped == 0
        assert hook.state().refused_s == 50
        assert not [r for r in caplog.records if "giving up" in r.getMessage()]
        hook.play("R")
    state = hook.state()
    assert (state.skipped, state.pending, state.failures) == (1, 1, 0)
    [gave_up] = [r.getMessage() for r in caplog.records if "giving up" in r.getMessage()]
    assert f"giving up on event {first} after 60 s of refusals" in gave_up and "HTTP 500" in gave_up
    assert hook.notifier.step() == 1
    assert hook.taken() == [second]
    assert (hook.state().skipped, hook.state().delivered, hook.state().pending) == (1, 1, 0)
    assert state.refused_s == 0  # the next event's refusals start from 0


def test_the_time_a_notifier_was_stopped_between_two_refusals_is_no_refusal(hook: Hook) -> None:
    """A daemon stopped for a weekend with an event refused once, restarted: skipped at its first
    refusal. A gap counts as long as the notifier waits between two tries at most (10 s + 1 s)."""
    events = _events(hook.store)
    hook.play("RRR")  # 20 s
    hook.clock.now += timedelta(days=2)
    hook.notifier = hook.restarted()
    hook.play("RRR")  # 20 + 11 + 20 s
    assert hook.state().skipped == 0
    assert hook.state().refused_s == 51
    assert hook.notifier.step() == 2 and hook.taken() == events
