"""What a sink is to the notifier: a name (its cursor), which events it wants, and a delivery that
either returns (done) or raises :class:`DeliveryError` (retried later with back-off)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.store.outbox import OutboxEvent


class DeliveryError(RuntimeError):
    """The sink did not take the event (broker down, HTTP error, timeout): try again later.
    ``unreachable``: nothing answered (not connected, refused, no answer), what answered said the
    receiver is away or busy (a proxy's 502/503/504, a 429), or it would say the same of every event
    (a wrong url, token or secret, a moved receiver), or the client could not send (a secret it cannot
    read, paho not connected): the event was never refused; such failures never skip it
    (give_up_after_s is for an event the sink refuses).
    ``refused``: the sink can tell this event will never be taken (an MQTT broker closing the
    connection at it, time after time): skipped at once, unless give_up_after_s is 0."""

    def __init__(self, message: str, *, unreachable: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        self.unreachable, self.refused = unreachable, refused


@dataclass(frozen=True)
class Current:
    """What the alert log says now, for an announcement at (re)connect (a broker that lost its
    retained messages gets them from here, not from a copy the sink keeps)."""

    open_alerts: dict[str, int] = field(default_factory=dict)  # open episodes per stream
    # Each (stream, profile)'s newest alert (the highest id: written last), as an event carries it.
    newest: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class Sink(Protocol):
    name: str

    def wants(self, event: OutboxEvent) -> bool: ...

    def deliver(self, event: OutboxEvent) -> None: ...

    def close(self) -> None: ...
