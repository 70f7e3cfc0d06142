"""A webhook failure that would be the same for every event refuses no event: none is skipped for it
however long it lasts (give_up_after_s is for an event the receiver refuses): a receiver down behind
its proxy or asking for later, a wrong url or token, a port that does not speak HTTP, a secret that
cannot be read. Each test runs its answers through one receiver and one alert log, a sink each."""

from __future__ import annotations

from pathlib import Path

from test_webhook import SECRET, RawReceiver, Receiver, failing_for_a_day

from config.events import WebhookConfig
from config.secrets import SecretRef
from edge.store import AlertStore

# What the error says to check, for an answer about the receiver, its url or credentials.
_FIX = {
    401: "check the secret, or the token in its url",
    403: "check the secret, or the token in its url",
    404: "check the url",
    405: "check the url: it takes no POST",
    407: "check the proxy's credentials",
    410: "check the url",
}


def test_a_receiver_away_or_a_wrong_token_or_url_past_give_up_after_s_loses_no_event(
    store: AlertStore,
) -> None:
    """A reverse proxy answering 502/503/504 while the service behind it was down (or the service
    answering 429, 408: later), a rotated token (401, 403), a moved hook (404, 410), for a day: each
    counted a refusal of the event, so after give_up_after_s one was skipped a day, lost though the
    receiver would have taken it; and last_error said only "HTTP 401 Unauthorized"."""
    receiver = Receiver([])
    try:
        for status in [408, 429, 502, 503, 504, *_FIX]:
            receiver.statuses = [status] * 3
            notifier, state = failing_for_a_day(store, WebhookConfig(name=f"ops{status}", url=receiver.url))
            assert (state.pending, state.skipped, state.failures) == (2, 0, 3), status
            assert f"HTTP {status}" in state.last_error and _FIX.get(status, "") in state.last_error
            assert notifier.step() == 2  # back, or fixed: both events go out
            assert [r[0] for r in receiver.requests[-5:]] == [status] * 3 + [200, 200]
    finally:
        receiver.close()


def test_an_answer_about_the_events_body_refuses_that_event_alone(store: AlertStore) -> None:
    """Too large, a media type or content the receiver does not take: this event's, skipped after
    give_up_after_s, so it cannot hold the next ones back for ever."""
    receiver = Receiver([])
    try:
        for status in [413, 415, 422]:
            receiver.statuses = [status] * 3
            _, state = failing_for_a_day(store, WebhookConfig(name=f"ops{status}", url=receiver.url))
            assert (state.pending, state.skipped) == (1, 1) and f"HTTP {status}" in state.last_error
    finally:
        receiver.close()


def test_a_port_that_does_not_speak_http_past_give_up_after_s_loses_no_event(store: AlertStore) -> None:
    """A url on another service's port answers every event alike: an event a day was skipped."""
    other = RawReceiver(b"garbage\r\n\r\n")
    try:
        _, state = failing_for_a_day(store, WebhookConfig(name="ops", url=other.url, timeout_s=5))
        assert (state.pending, state.skipped) == (2, 0) and "check the url: its port" in state.last_error
    finally:
        other.close()


def test_a_secret_unreadable_past_give_up_after_s_loses_no_event(tmp_path: Path, store: AlertStore) -> None:
    """A key file gone (being replaced, a wrong path) sends no event at all: one a day was skipped
    as refused though the receiver never saw it."""
    key = tmp_path / "ops-key"
    receiver = Receiver([])
    try:
        webhook = WebhookConfig(name="ops", url=receiver.url, secret=SecretRef(file=str(key)))
        notifier, state = failing_for_a_day(store, webhook)
        assert (state.pending, state.skipped) == (2, 0) and "secret" in state.last_error
        key.write_text(SECRET)
        assert notifier.step() == 2 and len(receiver.requests) == 2
    finally:
        receiver.close()
