"""Webhooks against a real HTTP server on loopback: signed JSON, retried with back-off until it
answers 2xx, in order; an endpoint that refuses for too long is skipped, not blocking forever."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mqtt_helpers import closed, new_alert
from typer.testing import CliRunner

from config.events import EventsConfig, WebhookConfig
from config.secrets import SecretRef
from edge.events.notifier import Notifier
from edge.events.webhook import WebhookSink, verify
from edge.store import AlertStore
from edge.store.outbox import CursorState
from haad.cli import app

SECRET = "s3cret"


class Receiver:
    """Answers each POST with the next status in ``statuses`` (then 200), after ``delay_s``,
    recording what came."""

    def __init__(
        self, statuses: list[int], delay_s: float = 0.0, *, tls: tuple[Path, Path] | None = None
    ) -> None:
        """``tls``: (certificate, key) files: an https:// receiver."""
        self.statuses, self.delay_s = list(statuses), delay_s
        self.location = "/moved"  # of a redirect
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append((status, dict(self.headers), body))
                time.sleep(receiver.delay_s)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802 - where a redirect followed by a GET lands
                receiver.requests.append((200, dict(self.headers), b""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(getattr(request, "param", []))
    yield r
    r.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def failing_for_a_day(store: AlertStore, webhook: WebhookConfig) -> tuple[Notifier, CursorState]:
    """An alert's two events offered to ``webhook`` 3 times, 8 hours apart (give_up_after_s 60 s long
    past), each time delivering none: the notifier, and its sink's state (a store may hold other
    sinks' from earlier calls: one receiver and one store for many answers)."""
    cfg = EventsConfig(webhooks=[webhook], give_up_after_s=60)
    clock = Clock()
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])], clock=clock)
    store.write_alerts([new_alert("a", closed=True)])
    for _ in range(3):
        assert notifier.step() == 0
        clock.now += timedelta(hours=8)
    [state] = [s for s in notifier.states() if s.sink == f"webhook:{webhook.name}"]
    return notifier, state


@pytest.mark.parametrize("receiver", [[500, 503]], indirect=True)
def test_signed_events_are_retried_with_backoff_until_accepted_in_order(
    store: AlertStore, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAAD_TEST_WEBHOOK_KEY", SECRET)  # the key by reference, never in the config
    cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url, secret=SecretRef(env="HAAD_TEST_WEBHOOK_KEY"))],
                       initial_backoff_s=2, max_backoff_s=3, public_url="https://haad.example:8910/")  # fmt: skip
    clock = Clock()
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])], clock=clock)
    first_state = new_alert()
    [alert_id] = store.write_alerts([first_state])
    store.write_alerts([closed(first_state)])
    assert notifier.step() == 0  # 500
    [state] = notifier.states()
    assert (state.failures, state.pending) == (1, 2) and "HTTP 500" in state.last_error
    assert state.next_attempt_at == clock.now + timedelta(seconds=2)
    assert notifier.step() == 0 and len(receiver.requests) == 1  # backing off: not tried again yet
    clock.now += timedelta(seconds=2)
    assert notifier.step() == 0  # 503
    assert notifier.states()[0].next_attempt_at == clock.now + timedelta(seconds=3)  # doubled, capped at 3
    clock.now += timedelta(seconds=3)
    assert notifier.step() == 2
    assert [r[0] for r in receiver.requests] == [500, 503, 200, 200]
    bodies = [json.loads(r[2]) for r in receiver.requests]
    assert [(b["type"], b["alert"]["id"]) for b in bodies[2:]] == [("open", alert_id), ("close", alert_id)]
    assert bodies[0]["event_id"] == bodies[2]["event_id"]  # a retry is the same delivery
    assert bodies[2]["alert"]["url"] == f"https://haad.example:8910/alerts/{alert_id}"
    assert bodies[2]["alert"]["thumbnail_url"] is None  # its camera keeps no snapshots
    for _, headers, body in receiver.requests:
        assert headers["X-Haad-Event"] in ("open", "close")
        assert verify(SECRET, headers["X-Haad-Timestamp"], body, headers["X-Haad-Signature"])
        assert not verify("wrong", headers["X-Haad-Timestamp"], body, headers["X-Haad-Signature"])
        assert not verify(SECRET, headers["X-Haad-Timestamp"], body + b" ", headers["X-Haad-Signature"])
    [state] = notifier.states()
    assert (state.pending, state.delivered, state.failures, state.last_error) == (0, 2, 0, "")


@pytest.mark.parametrize("receiver", [[400, 400, 400]], indirect=True)
def test_an_event_refused_past_give_up_after_s_is_skipped_and_the_next_goes_out(
    store: AlertStore, receiver: Receiver
) -> None:
    # A 61 s gap between two refusals counts whole: within the longest wait (max_backoff_s + poll_s).
    cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url, events=["open"])],
                       initial_backoff_s=1, max_backoff_s=60, give_up_after_s=60)  # fmt: skip
    clock = Clock()
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])], clock=clock)
    first, second = store.write_alerts([new_alert("a", closed=True), new_alert("b")])
    assert notifier.step() == 0
    clock.now += timedelta(seconds=61)
    assert notifier.step() == 0  # refused again, past the limit: skipped
    assert notifier.states()[0].skipped == 1
    clock.now += timedelta(seconds=1)
    assert notifier.step() == 0  # the third 400 for b's open event starts its own clock
    receiver.statuses.clear()
    clock.now += timedelta(seconds=1)
    assert notifier.step() == 1
    sent = [json.loads(r[2]) for r in receiver.requests if r[0] == 200]
    assert [(b["type"], b["alert"]["id"]) for b in sent] == [("open", second)]  # close events not wanted
    [state] = notifier.states()
    assert (state.pending, state.skipped, state.delivered) == (0, 1, 1) and first < second


def test_unreachable_endpoint_is_a_retry_not_a_crash(store: AlertStore) -> None:
    cfg = EventsConfig(webhooks=[WebhookConfig(name="gone", url="http://127.0.0.1:9/x", timeout_s=2)])
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
    store.write_alerts([new_alert()])
    started = time.monotonic()
    assert notifier.step() == 0
    assert time.monotonic() - started < 30
    [state] = notifier.states()
    assert state.failures == 1 and state.pending == 1 and "gone" in state.last_error


def test_a_new_sink_starts_after_the_events_already_there(store: AlertStore, receiver: Receiver) -> None:
    store.write_alerts([new_alert()])
    cfg = EventsConfig(webhooks=[WebhookConfig(name="late", url=receiver.url)])
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
    assert notifier.step() == 0 and receiver.requests == []
    store.write_alerts([new_alert("cam9")])
    assert notifier.step() == 1


def test_only_one_notifier_delivers_per_database(tmp_path: object, store: AlertStore) -> None:
    from edge.events.notifier import DeliveryLock

    a, b = DeliveryLock(store.config.url), DeliveryLock(store.config.url)
    assert a.acquire() and not b.acquire()
    a.release()
    assert b.acquire()
    b.release()


def test_a_slow_webhook_holds_no_other_sink_back(store: AlertStore) -> None:
    """Sinks took turns in one thread: a receiver answering just within timeout_s, event after
    event, held every other sink (MQTT, Home Assistant) back until its whole backlog went out."""
    slow, fast = Receiver([], delay_s=1.5), Receiver([])
    cfg = EventsConfig(
        webhooks=[WebhookConfig(name="slow", url=slow.url), WebhookConfig(name="fast", url=fast.url)],
        poll_s=0.1,
    )
    notifier = Notifier(cfg, store, [WebhookSink(w) for w in cfg.webhooks])
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    try:
        store.write_alerts([new_alert(f"cam{i}", closed=True) for i in range(3)])  # 6 events
        started = time.monotonic()
        thread.start()
        while len(fast.requests) < 6 and time.monotonic() - started < 30:
            time.sleep(0.05)
        assert len(fast.requests) == 6
        # Not after the slow one's backlog (9 s of it); no timing assert: a loaded host is slow.
        assert len(slow.requests) < 6
    finally:
        stop.set()
        thread.join(15)
        notifier.close()
        slow.close()
        fast.close()


@pytest.mark.parametrize("receiver", [[302]], indirect=True)
def test_a_redirect_is_a_failed_delivery_not_a_get_that_loses_the_event(
    store: AlertStore, receiver: Receiver
) -> None:
    """urllib followed a 302 (an http:// URL moved to https://, a renamed path) with a GET without
    the body; the page it landed on answered 200 and the event counted as delivered, never POSTed."""
    cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url)])
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
    store.write_alerts([new_alert("cam1")])
    assert notifier.step() == 0
    [state] = notifier.states()
    assert state.pending == 1 and "HTTP 302" in state.last_error and "/moved" in state.last_error
    assert len(receiver.requests) == 1  # the POST, not a GET after it


@pytest.mark.parametrize("receiver", [[302]], indirect=True)
def test_a_redirect_names_its_location_without_its_credentials(
    store: AlertStore, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A redirect's Location, a URL with a password or a token in it, went as it was into
    last_error (haad events status, /health) and the notifier's log."""
    receiver.location = "https://ops:hunter2@hooks.example/new?token=t0ps3cret&team=ops"
    cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url)])
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
    store.write_alerts([new_alert("cam1")])
    with caplog.at_level("WARNING", "haad.events"):
        assert notifier.step() == 0
    [state] = notifier.states()
    assert "https://***@hooks.example/new?token=***&team=***" in state.last_error
    assert caplog.records and all(
        "hunter2" not in r.getMessage() and "t0ps3cret" not in r.getMessage() for r in caplog.records
    )
    assert "hunter2" not in state.last_error and "t0ps3cret" not in state.last_error


@pytest.mark.parametrize(
    ("moved_to", "shown", "secret"),
    [
        # Slack, Discord, Home Assistant: the token is the path; moved from http:// to https://.
        ("https://hooks.example/services/T0AB12CD3/B0EF45GH6/q8Zk2LmN4pR7sT1vW3xY5aB9", "https://hooks.example/services/***/***/***", "q8Zk2LmN4pR7sT1vW3xY5aB9"),
        ("https://discord.example/api/webhooks/112233445566778899/Xa9_bC8-dE7fG6hI5jK4lM3nO2pQ1rS0tU9vW8xY7zA6bC5dE4fG3hI2jK1lM0nO9pQ8r", "https://discord.example/api/webhooks/112233445566778899/***", "Xa9_bC8"),
        ("https://ha.example:8123/api/webhook/-kD83hfYq0Wm2bXz7Lr4", "https://ha.example:8123/api/webhook/***", "-kD83hfYq0Wm2bXz7Lr4"),
        # A Home Assistant webhook id its user chose: a word, not random-looking, as secret.
        ("https://ha.example:8123/api/webhook/kitchen-door-alarm", "https://ha.example:8123/api/webhook/***", "kitchen-door-alarm"),
        # A framework adding the trailing slash: a Location relative to the url, named as a whole URL.
        ("/api/webhook/-kD83hfYq0Wm2bXz7Lr4/", "/api/webhook/***/", "-kD83hfYq0Wm2bXz7Lr4"),
        ("http://[bad/api/webhook/-kD83hfYq0Wm2bXz7Lr4", "http://[bad/api/webhook/***", "-kD83hfYq0Wm2bXz7Lr4"),  # no URL parser reads it: a ValueError out of the round, each second
        # A value under a name no rule knows, random-looking or a word (Azure Functions' code=).
        ("https://hooks.example/haad?k=7f3a9c2e4b1d8f60aa&n=3", "https://hooks.example/haad?k=***&n=3", "7f3a9c2e4b1d8f60aa"),
        ("https://fn.example/api/haad?code=kitchen", "https://fn.example/api/haad?code=***", "kitchen"),
    ],
)  # fmt: skip
def test_a_redirect_to_a_url_with_its_token_in_the_path_names_it_masked(
    store: AlertStore, moved_to: str, shown: str, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/review.md says to put the receiver's token in the path; a redirect's Location (the same
    URL, moved to https://) went with that token into last_error (haad events status, the review
    API's health and sinks) and the log line of each failed delivery."""
    receiver = Receiver([302])
    receiver.location = moved_to
    try:
        cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url)])
        notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
        store.write_alerts([new_alert("cam1")])
        with caplog.at_level("WARNING", "haad.events"):
            assert notifier.step() == 0
    finally:
        receiver.close()
    status = CliRunner().invoke(app, ["events", "status", "--db", store.config.url])
    [state] = json.loads(status.output)
    assert shown in state["last_error"] and secret not in state["last_error"]
    said = [r.getMessage() for r in caplog.records]
    assert any(shown in m for m in said) and not any(secret in m for m in said)


def test_a_key_file_gone_at_delivery_is_a_retry_not_a_crash(
    tmp_path: Path, store: AlertStore, receiver: Receiver
) -> None:
    """The key is read at each delivery; a file being replaced raised SecretError out of the
    notifier's round (a traceback every poll_s, no back-off, nothing in last_error)."""
    key = tmp_path / "ops-key"
    cfg = EventsConfig(
        webhooks=[WebhookConfig(name="ops", url=receiver.url, secret=SecretRef(file=str(key)))],
        initial_backoff_s=0.1,
        max_backoff_s=0.1,
    )
    notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
    store.write_alerts([new_alert("cam1")])
    assert notifier.step() == 0
    [state] = notifier.states()
    assert "cannot read the secret file" in state.last_error and state.pending == 1
    key.write_text(SECRET)
    time.sleep(0.15)  # initial_backoff_s
    assert notifier.step() == 1


def test_a_stopping_notifier_waits_for_one_slow_delivery_not_for_its_batch(store: AlertStore) -> None:
    # It went on through the batch after stop: up to batch x timeout_s before the daemon could stop.
    slow = Receiver([], delay_s=1.0)
    cfg = EventsConfig(webhooks=[WebhookConfig(name="slow", url=slow.url)], poll_s=0.1)
    notifier = Notifier(cfg, store, [WebhookSink(w) for w in cfg.webhooks])
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    try:
        store.write_alerts([new_alert(f"cam{i}", closed=True) for i in range(4)])  # 8 events
        thread.start()
        while not slow.requests:
            time.sleep(0.05)
        stop.set()
        thread.join(15)  # 8 s of batch would end within it too: the count below tells them apart
        assert not thread.is_alive()
        [state] = notifier.states()
        assert state.delivered == len(slow.requests) < 8 and state.pending == 8 - state.delivered
    finally:
        stop.set()
        notifier.close()
        slow.close()


def test_a_notifier_standing_by_says_so_once_and_says_when_it_takes_over(
    store: AlertStore, receiver: Receiver, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It warned every 10 s for as long as the other one ran: 8,640 lines a day on a second host.
    import edge.events.notifier as notifier_module
    from edge.events.notifier import DeliveryLock

    monkeypatch.setattr(notifier_module, "STANDBY_RETRY_S", 0.02)
    tries, acquire = [0], DeliveryLock.acquire

    def counted(lock: DeliveryLock) -> bool:
        tries[0] += 1
        return acquire(lock)

    other = DeliveryLock(store.config.url)
    assert other.acquire()
    cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url)], poll_s=0.1)
    notifier = Notifier(cfg, store, [WebhookSink(w) for w in cfg.webhooks])
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    try:
        with caplog.at_level("WARNING", logger="haad.events"):
            monkeypatch.setattr(DeliveryLock, "acquire", counted)
            thread.start()
            # Fifteen tries of the lock, counted: 0.3 s of sleep on a loaded host could be none.
            deadline = time.monotonic() + 30
            while tries[0] < 15:
                assert time.monotonic() < deadline, tries
                time.sleep(0.02)
            other.release()
            store.write_alerts([new_alert("cam1")])
            started = time.monotonic()
            while not receiver.requests and time.monotonic() - started < 30:
                time.sleep(0.05)
        said = [r.getMessage() for r in caplog.records]
        assert sum("standing by" in m for m in said) == 1 and any("delivering from here" in m for m in said)
        assert receiver.requests
    finally:
        stop.set()
        thread.join(10)
        notifier.close()


class RawReceiver:
    """A TCP server answering each request with ``answer``, ``per_byte_s`` between bytes (a stalling
    or broken receiver that no http.server would write)."""

    def __init__(self, answer: bytes, per_byte_s: float = 0.0) -> None:
        self.answer, self.per_byte_s = answer, per_byte_s
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.recv(65536)
                try:
                    step = 1 if self.per_byte_s else len(self.answer)
                    for i in range(0, len(self.answer), step):
                        conn.sendall(self.answer[i : i + step])
                        time.sleep(self.per_byte_s)
                    while conn.recv(65536):  # until the sender hangs up: no reset, read or not
                        pass
                except OSError:
                    pass  # the sender gave up on us

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("per_byte_s", [0.05, 0.2])
def test_a_receiver_trickling_its_answer_is_cut_off_at_timeout_s(
    store: AlertStore, per_byte_s: float
) -> None:
    """timeout_s bounded each read, not the answer: a receiver sending a byte at a time held the
    webhook (and a stopping daemon) for as long as it went on, here long past timeout_s."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: " + b"a" * int(6 / per_byte_s) + b"\r\n\r\n"
    trickle = RawReceiver(answer, per_byte_s)
    try:
        cfg = EventsConfig(webhooks=[WebhookConfig(name="slow", url=trickle.url, timeout_s=1)])
        notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
        store.write_alerts([new_alert()])
        assert notifier.step() == 0
        [state] = notifier.states()
        assert state.pending == 1 and state.failures == 1
        assert "no complete answer within 1.0 s" in state.last_error
    finally:
        trickle.close()


@pytest.mark.parametrize(
    "answer", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 70_000 + b"\r\n\r\n"]
)
def test_an_answer_that_is_not_http_is_a_failed_delivery_with_its_reason(
    store: AlertStore, answer: bytes
) -> None:
    """A webhook url on another service's port: http.client's BadStatusLine / LineTooLong escaped the
    sink, so the notifier's round failed with a traceback every second, no back-off, no last_error."""
    other = RawReceiver(answer)
    try:
        cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url=other.url, timeout_s=5)])
        notifier = Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])
        store.write_alerts([new_alert()])
        assert notifier.step() == 0
        [state] = notifier.states()
        assert state.failures == 1 and "not an HTTP answer" in state.last_error
    finally:
        other.close()


def test_a_restarted_notifier_tries_a_failed_sink_at_once_not_after_the_old_back_off(
    store: AlertStore, receiver: Receiver
) -> None:
    """The back-off was kept in the alert log: the url fixed and the daemon restarted, the first
    delivery still waited out the old run's wait (up to max_backoff_s, 5 minutes by default)."""
    wrong = EventsConfig(
        webhooks=[WebhookConfig(name="ops", url="http://127.0.0.1:9/hook", timeout_s=2)],
        initial_backoff_s=300,
        max_backoff_s=300,
    )
    store.write_alerts([new_alert()])
    first = Notifier(wrong, store, [WebhookSink(wrong.webhooks[0])])
    store.write_alerts([new_alert("cam2")])
    assert first.step() == 0
    [state] = first.states()
    assert state.failures == 1 and state.next_attempt_at is not None

    fixed = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url)], poll_s=0.1)
    restarted = Notifier(fixed, store, [WebhookSink(fixed.webhooks[0])])
    stop = threading.Event()
    thread = threading.Thread(target=restarted.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20  # far below the 300 s the old run asked for
        while restarted.states()[0].pending and time.monotonic() < deadline:
            time.sleep(0.05)
        [state] = restarted.states()
        assert state.pending == 0 and len(receiver.requests) == 1
    finally:
        stop.set()
        thread.join(10)
        restarted.close()


@pytest.mark.parametrize("gone", ["refused", "silent"])
def test_an_endpoint_unreachable_past_give_up_after_s_skips_no_event(store: AlertStore, gone: str) -> None:
    """An endpoint down for give_up_after_s lost an event at each retry after, though none was
    refused: the outbox went on growing, and the alerts the receiver would have taken were gone."""
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    url = (
        "http://127.0.0.1:9/hook" if gone == "refused" else f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
    )
    try:
        _, state = failing_for_a_day(store, WebhookConfig(name="ops", url=url, timeout_s=0.5))
        assert (state.pending, state.skipped) == (2, 0) and state.failures == 3
    finally:
        silent.close()


@pytest.mark.parametrize("receiver", [[503, 503]], indirect=True)
def test_an_endpoint_back_after_a_long_outage_is_not_given_up_on_at_its_first_refusal(
    store: AlertStore, receiver: Receiver
) -> None:
    """give_up_after_s counted from the first failure of the outage: an endpoint back after a day
    (the url fixed, the daemon restarted) answering one 503 while it started lost the event at once."""
    down = EventsConfig(
        webhooks=[WebhookConfig(name="ops", url="http://127.0.0.1:9/hook", timeout_s=2)], give_up_after_s=60
    )
    clock = Clock()
    notifier = Notifier(down, store, [WebhookSink(down.webhooks[0])], clock=clock)
    store.write_alerts([new_alert()])
    for _ in range(3):  # a day refusing connections
        assert notifier.step() == 0
        clock.now += timedelta(hours=8)
    back = EventsConfig(webhooks=[WebhookConfig(name="ops", url=receiver.url)], give_up_after_s=60,
                        initial_backoff_s=10, max_backoff_s=10)  # fmt: skip
    notifier = Notifier(back, store, [WebhookSink(back.webhooks[0])], clock=clock)
    for _ in range(2):  # refused twice, within give_up_after_s of the first refusal
        assert notifier.step() == 0
        clock.now += timedelta(seconds=20)
    [state] = notifier.states()
    assert (state.pending, state.skipped, state.failures) == (1, 0, 5)
    assert notifier.step() == 1  # the 200 that came next
    [state] = notifier.states()
    assert (state.pending, state.skipped, state.delivered) == (0, 0, 1)
    assert [r[0] for r in receiver.requests] == [503, 503, 200]


def test_an_https_receiver_behind_a_private_ca_is_reached_with_ca_file(
    tmp_path: Path, store: AlertStore
) -> None:
    """Webhooks trusted only the system's CAs, with no setting for a receiver behind a private CA or
    with a self-signed certificate: its events were retried for ever."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    receiver = Receiver([], tls=(cert, key))
    try:
        hooks = [
            WebhookConfig(name="system", url=receiver.url),
            WebhookConfig(name="own", url=receiver.url, ca_file=str(cert)),
        ]
        cfg = EventsConfig(webhooks=hooks, poll_s=0.1, initial_backoff_s=0.1, max_backoff_s=0.2)
        notifier = Notifier(cfg, store, [WebhookSink(w) for w in hooks])
        [alert_id] = store.write_alerts([new_alert("cam1")])
        notifier.step()
        system, own = sorted(notifier.states(), key=lambda c: c.sink != "webhook:system")
        assert "CERTIFICATE_VERIFY_FAILED" in system.last_error and system.pending == 1
        assert (own.pending, own.delivered, own.last_error) == (0, 1, "")
        [(status, _, body)] = receiver.requests
        assert status == 200 and json.loads(body)["alert"]["id"] == alert_id
    finally:
        receiver.close()


@pytest.mark.parametrize("receiver", [[301] * 3, [308] * 3], indirect=True)
def test_a_redirect_past_give_up_after_s_skips_no_event(store: AlertStore, receiver: Receiver) -> None:
    """A receiver moved (http:// to https://, a renamed path) answers every POST with a redirect,
    whatever the event: once give_up_after_s had passed, the events were skipped one by one, lost
    though the receiver would take each once the url is set to the Location the error names."""
    notifier, state = failing_for_a_day(store, WebhookConfig(name="ops", url=receiver.url))
    assert (state.pending, state.skipped) == (2, 0) and "redirects are not followed" in state.last_error
    assert notifier.step() == 2  # the receiver answers 200 now: both events, none lost


def test_events_status_names_a_configured_sink_no_notifier_has_run_with(
    tmp_path: Path, store: AlertStore
) -> None:
    """haad events status printed [] for an edge.yaml with a webhook until a notifier had run: read as
    "no sink configured", not as "nothing delivering"."""
    config = tmp_path / "edge.yaml"
    config.write_text(f"store: {{url: '{store.url}'}}\n"
                      "events: {webhooks: [{name: ops, url: 'http://127.0.0.1:9/hook'}]}\n")  # fmt: skip
    status = CliRunner().invoke(app, ["events", "status", "--config", str(config)])
    assert status.exit_code == 0, status.output
    [state] = json.loads(status.output)
    assert (
        state["sink"] == "webhook:ops"
        and state["started"] is False
        and "haad events run" in state["last_error"]
    )
    cfg = EventsConfig(webhooks=[WebhookConfig(name="ops", url="http://127.0.0.1:9/hook")])
    Notifier(cfg, store, [WebhookSink(cfg.webhooks[0])])  # its cursor made, as a notifier's start does
    [state] = json.loads(CliRunner().invoke(app, ["events", "status", "--config", str(config)]).output)
    assert (state["sink"], state["pending"], state["last_error"]) == (
        "webhook:ops",
        0,
        "",
    ) and state["started"]
