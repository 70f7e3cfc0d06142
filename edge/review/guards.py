"""What every request to the review server passes before any route sees it, as one ASGI layer:

* its ``Host`` must be one this server answers to (``serve.allowed_hosts``), else 421: a page on
  another site whose name was rebound to this address (DNS rebinding) gets nothing, auth or not;
* its body may not exceed ``serve.max_body_bytes``, else 413, decided from Content-Length before
  anything is read (before auth too) or, for a body without one, as soon as it grows past the limit;
* a HEAD request is answered as its GET would be, without the body (HTTP servers must take HEAD;
  the routes declare GET only, and a health check's HEAD /healthz got 405);
* every response says it may not be framed by another site (``X-Frame-Options: DENY``, CSP
  ``frame-ancestors 'none'``: no clickjacking) nor embedded by another origin, nor sniffed into
  another type, and runs no script nor style but the server's own files (CSP).

Who the client is and whether it came over HTTPS: the socket's own peer and scheme, unless the peer
is a trusted proxy (``serve.trusted_proxies``), whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` then
count.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from config.serve import ServeConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADERS = [
    (b"x-frame-options", b"DENY"),
    # Only the server's own files: a name that ever got into a page as markup runs no script of its
    # own, loads nothing from elsewhere and posts no form away (app.js styles through the CSSOM).
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    # No page of another origin embeds a response (a picture, a script): one on another port of this
    # host is the same site, to which the SameSite cookie goes.
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class RequestGuard:
    """The ASGI layer (module docstring) around ``app``."""

    def __init__(self, app: ASGIApp, cfg: ServeConfig) -> None:
        self.app, self.cfg = app, cfg
        self.hosts = cfg.host_names()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        started = ended = False
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_guarded(message: Message) -> None:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *HEADERS]
            elif head and message["type"] == "http.response.body":
                # The first body message ends the answer: a stream's (live events) would never end,
                # and once it has ended the server tells the route that the client left.
                if ended:
                    return
                ended = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if self.hosts is not None and host not in self.hosts:
            await _refuse(
                send_guarded, 421, "this server does not answer to that host name (serve.allowed_hosts)"
            )
            return
        limit = self.cfg.max_body_bytes
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refuse(send_guarded, 413, f"request body larger than {limit} bytes")
            return
        seen, too_large = 0, False

        async def receive_limited() -> Message:
            # Past the limit the app is told the client left; whatever it answers then becomes a 413.
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_too_large(message: Message) -> None:
            if not too_large:
                await send_guarded(message)

        try:
            await self.app(scope, receive_limited, send_unless_too_large)
        except Exception:
            if not too_large:  # only a route that gave up on the cut body is ours to answer
                raise
        if too_large and not started:
            await _refuse(send_guarded, 413, f"request body larger than {limit} bytes")


def _host_name(host: str) -> str:
    """The name of a Host header: lower case, without the port, IPv6 brackets dropped."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _trusted(cfg: ServeConfig, request: Request) -> bool:
    peer = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(p, strict=False) for p in cfg.trusted_proxies)


def over_https(cfg: ServeConfig, request: Request) -> bool:
    """Whether the browser reached us over HTTPS: TLS here, or a trusted proxy says so."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https" and _trusted(cfg, request)


def client_address(cfg: ServeConfig, request: Request) -> str:
    """The client's address: the peer, or the nearest untrusted hop a trusted proxy names."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(cfg, request):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    return hops[-1] if hops else peer
