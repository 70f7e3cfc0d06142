"""Webhooks: every event POSTed as JSON, signed with HMAC-SHA256.

Headers: ``X-Haad-Event`` (open / update / close), ``X-Haad-Delivery`` (the event id: the same on a
retry, so receivers can drop duplicates), ``X-Haad-Timestamp`` (Unix seconds) and, with a secret,
``X-Haad-Signature: sha256=<hex>`` over ``<timestamp>.<body>``: :func:`verify` checks one. Any 2xx
is success; anything else, or no answer within the timeout, is retried by the notifier with back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from config.events import WebhookConfig
from config.secrets import SecretError
from edge.events.sinks import DeliveryError
from edge.store.outbox import OutboxEvent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, max_age_s: float = 300.0) -> bool:
    """True when ``signature`` is ours for this body and the timestamp is recent (receivers' side)."""
    try:
        fresh = abs(time.time() - float(timestamp)) <= max_age_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: urllib follows a 301/302/303 to a POST with a GET without the body,
    and the page it lands on answering 200 counted as the event delivered."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class WebhookSink:
    def __init__(self, cfg: WebhookConfig) -> None:
        self.cfg = cfg
        self.name = f"webhook:{cfg.name}"

    def wants(self, event: OutboxEvent) -> bool:
        return event.kind in self.cfg.events

    def deliver(self, event: OutboxEvent) -> None:
        body = json.dumps({"event_id": event.id, **event.payload}).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "haad-webhook/1",
            "X-Haad-Event": event.kind,
            "X-Haad-Delivery": str(event.id),
            "X-Haad-Timestamp": ts,
        }
        if self.cfg.secret is not None:
            try:
                headers["X-Haad-Signature"] = sign(self.cfg.secret.value(), ts, body)
            except SecretError as e:  # read at each delivery: a key file being replaced is a retry
                raise DeliveryError(f"{self.cfg.name}: secret: {e}") from None
        request = urllib.request.Request(self.cfg.url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.cfg.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            moved = (
                f" (redirects are not followed: set its url to {e.headers['Location']})"
                if 300 <= e.code < 400
                else ""
            )
            raise DeliveryError(f"{self.cfg.name}: HTTP {e.code} {e.reason}{moved}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise DeliveryError(f"{self.cfg.name}: {e}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"{self.cfg.name}: HTTP {status}")

    def close(self) -> None:
        pass
