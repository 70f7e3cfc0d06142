"""Webhooks: every event POSTed as JSON, signed with HMAC-SHA256.

Headers: ``X-Haad-Event`` (open / update / close), ``X-Haad-Delivery`` (the event's uid, as
``event_uid`` in the body: the same on a retry, never another event's, another alert log's included,
so receivers drop duplicates by it; ``event_id`` is unique only within one log),
``X-Haad-Timestamp`` (Unix seconds) and, with a secret, ``X-Haad-Signature: sha256=<hex>`` over
``<timestamp>.<body>``: :func:`verify` checks one. Any 2xx is success; anything else (an answer
that is not HTTP included), or no complete answer (status line and headers) within the timeout, is
retried by the notifier with back-off. Only an answer about this
event's body refuses the event (skipped after ``give_up_after_s``); one that would be the same for
every event is an outage, as no answer is, and never skips one: the receiver away or asking for later
(408, 429, 502, 503, 504: a proxy whose service is down), moved (a redirect, its Location named in the
error; not followed), a wrong url, token or secret (401, 403, 404, 405, 407, 410, ...: the error says
what to check), a port that does not speak HTTP, a secret that cannot be read.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, cast
from urllib.parse import urljoin

from config.events import WebhookConfig
from config.redaction import redact_url
from config.secrets import SecretError
from edge.events.sinks import DeliveryError
from edge.events.tls import tls_context
from edge.store.outbox import OutboxEvent

# Request Timeout, Too Many Requests, Bad Gateway, Service Unavailable, Gateway Timeout: not this
# event refused, the receiver away (behind its proxy) or busy.
_LATER = frozenset({408, 429, 502, 503, 504})
# Answers about the receiver, its url or credentials, the same for every event: skipping the refused
# one after give_up_after_s lost an alert a day to a wrong token or a moved url, while the next one
# waited just the same. What the operator has to fix goes into last_error. Not here, so refusals of
# this event: what concerns its body (400 Bad Request, 409 Conflict, 413 Content Too Large, 415
# Unsupported Media Type, 422 Unprocessable Content) and 500 (a receiver failing on one body must not
# hold every later event back for ever; one failing on all of them is retried for give_up_after_s).
_FIX = {
    401: "check the secret, or the token in its url",  # Unauthorized: the receiver checks the signature
    403: "check the secret, or the token in its url",  # Forbidden: likewise, or this sender is not let in
    404: "check the url",  # Not Found: a renamed path, a token in the path revoked
    405: "check the url: it takes no POST",  # Method Not Allowed: a page, not the hook
    407: "check the proxy's credentials (HTTPS_PROXY / HTTP_PROXY)",  # Proxy Authentication Required
    410: "check the url",  # Gone: the hook was deleted
    421: "check the url: that server does not serve its host",  # Misdirected Request
    426: "check the url: the receiver wants https://",  # Upgrade Required
    501: "check the url: it takes no POST",  # Not Implemented: a server that has no POST at all
    505: "check the url: the receiver does not speak HTTP/1.1",  # HTTP Version Not Supported
    511: "the network wants a sign-in (a captive portal) before it lets the webhook through",
}


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
    and the page it lands on answering 200 counted as the event delivered. Declined before urllib
    reads the Location: one no URL parser reads (an unclosed ``[``) failed the notifier's round with
    a ValueError each second."""

    def http_error_302(self, *_args: object, **_kwargs: object) -> None:
        return None  # not handled here: urllib raises the HTTPError

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


class _AnswerDeadline(http.client.HTTPConnection):
    """The answer's status line and headers, all of them, within the timeout: the socket's timeout
    bounds each read, so a receiver trickling its answer a byte at a time held the sink (and a
    stopping daemon) for as long as it kept trickling."""

    def getresponse(self) -> http.client.HTTPResponse:
        cut = threading.Event()

        def cut_off() -> None:
            cut.set()
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
            except (AttributeError, OSError):  # closed meanwhile: the answer came after all
                pass

        timer = threading.Timer(cast(float, self.timeout), cut_off)  # urllib sets it: timeout_s
        timer.start()
        try:
            response = super().getresponse()
        except (OSError, http.client.HTTPException):
            if not cut.is_set():
                raise
        finally:
            timer.cancel()
        if cut.is_set():  # also when it returned: a cut in the headers reads as their end, a 200
            raise TimeoutError(f"no complete answer within {self.timeout} s")
        return response


class _HTTPSConnection(_AnswerDeadline, http.client.HTTPSConnection):
    pass


_WITH_DEADLINE: dict[Any, Any] = {
    http.client.HTTPConnection: _AnswerDeadline,
    http.client.HTTPSConnection: _HTTPSConnection,
}


class _HTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class: Any, req: urllib.request.Request, **kw: Any) -> http.client.HTTPResponse:
        return super().do_open(_WITH_DEADLINE[http_class], req, **kw)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class: Any, req: urllib.request.Request, **kw: Any) -> http.client.HTTPResponse:
        return super().do_open(_WITH_DEADLINE[http_class], req, **kw)


def _absolute(url: str, location: str) -> str:
    """``location`` as a whole URL, relative to ``url``; as given where no URL parser reads it (an
    unclosed ``[``): a receiver's answer must not fail the notifier's round."""
    try:
        return urljoin(url, location)
    except ValueError:
        return location


def _opener(ca_file: str | None) -> urllib.request.OpenerDirector:
    """An https:// receiver's certificate checked against ``ca_file``, or the system's CAs."""
    return urllib.request.build_opener(_NoRedirect, _HTTPHandler, _HTTPSHandler(context=tls_context(ca_file)))


class WebhookSink:
    def __init__(self, cfg: WebhookConfig) -> None:
        self.cfg = cfg
        self.name = f"webhook:{cfg.name}"

    def wants(self, event: OutboxEvent) -> bool:
        return event.kind in self.cfg.events

    def deliver(self, event: OutboxEvent) -> None:
        body = json.dumps({"event_id": event.id, "event_uid": event.uid, **event.payload}).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "haad-webhook/1",
            "X-Haad-Event": event.kind,
            "X-Haad-Delivery": event.uid,
            "X-Haad-Timestamp": ts,
        }
        if self.cfg.secret is not None:
            try:
                headers["X-Haad-Signature"] = sign(self.cfg.secret.value(), ts, body)
            except SecretError as e:  # read at each delivery: a key file being replaced is a retry
                # Not a refusal: a key file gone for a day skipped an event, though none was sent.
                raise DeliveryError(f"{self.cfg.name}: secret: {e}", unreachable=True) from None
        try:
            # Read at each delivery, as the secret is: a CA file being replaced is a retry.
            opener = _opener(self.cfg.ca_file)
        except OSError as e:
            raise DeliveryError(
                f"{self.cfg.name}: ca_file {self.cfg.ca_file}: {e}", unreachable=True
            ) from None
        request = urllib.request.Request(self.cfg.url, data=body, headers=headers, method="POST")
        try:
            with opener.open(request, timeout=self.cfg.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            # The Location goes to last_error (haad events status, /health) and the log: without the
            # password or token a redirect to a URL may carry. A relative one (a framework adding a
            # trailing slash) is named as the whole URL to set, masked like any other.
            location = e.headers.get("Location")
            moved = (
                f" (redirects are not followed: set its url to "
                f"{redact_url(_absolute(self.cfg.url, location)) if location else '(none given)'})"
                if 300 <= e.code < 400
                else ""
            )
            fix = f" ({_FIX[e.code]})" if e.code in _FIX else ""
            # A redirect says the receiver is elsewhere, for every event alike: no event refused, and
            # none may be skipped while the url waits to be set to where it moved.
            raise DeliveryError(
                f"{self.cfg.name}: HTTP {e.code} {e.reason}{moved}{fix}",
                unreachable=e.code in _LATER or e.code in _FIX or bool(moved),
            ) from None
        except (urllib.error.URLError, OSError) as e:  # refused, unknown host, no answer in time
            raise DeliveryError(f"{self.cfg.name}: {e}", unreachable=True) from None
        except http.client.HTTPException as e:  # a service on that port that does not speak HTTP
            # The same answer to every event: skipping one after give_up_after_s lost it for a wrong port.
            raise DeliveryError(
                f"{self.cfg.name}: not an HTTP answer: {e!r} (check the url: its port)", unreachable=True
            ) from None
        if not 200 <= status < 300:
            raise DeliveryError(f"{self.cfg.name}: HTTP {status}")

    def close(self) -> None:
        pass
