"""A webhook receiver that is down behind its proxy, or asks for later, refuses no event: none is
skipped for it however long it lasts (give_up_after_s is for an event the receiver refuses)."""

from __future__ import annotations

import pytest
from test_webhook import Receiver, failing_for_a_day

from config.events import WebhookConfig
from edge.store import AlertStore


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_a_receiver_down_behind_its_proxy_past_give_up_after_s_loses_no_event(
    store: AlertStore, status: int
) -> None:
    """A reverse proxy answering 502/503/504 while the service behind it was down (or the service
    answering 429, 408: later) for a day: after give_up_after_s each event was skipped at its next
    retry, lost though the receiver never refused one; once it was back it got none of them."""
    receiver = Receiver([status] * 3)
    try:
        notifier, state = failing_for_a_day(store, WebhookConfig(name="ops", url=receiver.url))
        assert (state.pending, state.skipped, state.failures) == (2, 0, 3)
        assert f"HTTP {status}" in state.last_error
        assert notifier.step() == 2  # back: both events go out
        assert [r[0] for r in receiver.requests] == [status] * 3 + [200, 200]
    finally:
        receiver.close()
