"""Who is asking: bearer tokens for API clients, a session cookie for browsers, CSRF for both.

* Tokens are configured as SHA-256 hashes (``serve.tokens``); a request carries the token itself in
  ``Authorization: Bearer <token>``. Bearer requests need no CSRF token: browsers never add that
  header on their own.
* The login page takes a token and sets ``haad_session``: a random id (HttpOnly, SameSite=Strict,
  Secure whenever the page came over HTTPS, or always with ``secure_cookies: always``) that maps to the token's name and a per-session CSRF token, in
  memory (a restart logs everyone out). Any state-changing request authenticated by the cookie must
  send ``X-CSRF-Token`` (the pages read it from ``<meta name="csrf-token">``).
* ``auth: false`` (loopback hosts only, enforced by ``config.serve``): everyone is ``local``, and
  state-changing requests still need the server's CSRF token, so a web page in the same browser
  cannot post to the local server.
* Wrong tokens back off: after :data:`FREE_FAILURES` from one client address, every further attempt
  (login or bearer) is answered 429 with ``Retry-After`` for 1 s, doubling to 5 min, until a right
  token; so guessing is slow however many requests are sent.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from config.serve import ServeConfig
from edge.review.guards import client_address

COOKIE = "haad_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FREE_FAILURES = 5  # wrong tokens from one client before it waits
BACKOFF_S = (1.0, 300.0)  # its first and longest wait
MAX_CLIENTS = 10_000  # clients with failures remembered (the oldest are forgotten)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Identity:
    name: str
    csrf: str
    via: str  # "token", "session" or "none"


class Backoff:
    """Wrong tokens per client address, and until when each client must wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()  # failures, blocked until
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise 429 (with Retry-After) while ``client`` must wait."""
        with self._lock:
            _, until = self._clients.get(client, (0, 0.0))
        wait = until - self.clock()
        if wait > 0:
            raise HTTPException(
                429, "too many wrong tokens; try again later", headers={"Retry-After": str(math.ceil(wait))}
            )

    def failed(self, client: str) -> None:
        with self._lock:
            failures, until = self._clients.pop(client, (0, 0.0))
            failures += 1
            if failures >= FREE_FAILURES:
                first, most = BACKOFF_S
                until = self.clock() + min(most, first * 2 ** (failures - FREE_FAILURES))
            self._clients[client] = (failures, until)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)


@dataclass
class _Session:
    name: str
    csrf: str
    expires: float


class Auth:
    def __init__(self, cfg: ServeConfig, extra_tokens: dict[str, str] | None = None) -> None:
        """``extra_tokens``: name -> token accepted besides the configured ones (the one-off token)."""
        self.cfg = cfg
        self.hashes = {t.sha256: t.name for t in cfg.tokens}
        for name, token in (extra_tokens or {}).items():
            self.hashes[token_sha256(token)] = name
        self.sessions: dict[str, _Session] = {}
        self.local_csrf = secrets.token_urlsafe(24)
        self.backoff = Backoff()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.cfg.auth

    def check_token(self, token: str) -> str | None:
        """The token's name, or None; compares hashes in constant time."""
        digest = token_sha256(token)
        for known, name in self.hashes.items():
            if hmac.compare_digest(known, digest):
                return name
        return None

    def checked(self, token: str, request: Request) -> str | None:
        """``token``'s name, or None; a client that sent too many wrong ones gets 429 instead."""
        client = client_address(self.cfg, request)
        self.backoff.check(client)
        name = self.check_token(token)
        if name is None:
            self.backoff.failed(client)
        else:
            self.backoff.succeeded(client)
        return name

    def login(self, token: str, request: Request) -> tuple[str, _Session] | None:
        name = self.checked(token, request)
        if name is None:
            return None
        sid = secrets.token_urlsafe(32)
        session = _Session(name, secrets.token_urlsafe(24), time.time() + self.cfg.session_hours * 3600)
        with self._lock:
            self._expire()
            self.sessions[sid] = session
        return sid, session

    def logout(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self.sessions.pop(sid, None)

    def identify(self, request: Request) -> Identity | None:
        """The caller, or None when unauthenticated (CSRF is checked separately)."""
        if not self.enabled:
            return Identity("local", self.local_csrf, "none")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            name = self.checked(header[7:].strip(), request)
            return Identity(name, "", "token") if name else None
        sid = request.cookies.get(COOKIE)
        if sid:
            with self._lock:
                session = self.sessions.get(sid)
                if session is not None and session.expires < time.time():
                    self.sessions.pop(sid, None)
                    session = None
            if session is not None:
                return Identity(session.name, session.csrf, "session")
        return None

    def check_csrf(self, request: Request, who: Identity) -> None:
        if request.method not in UNSAFE or who.via == "token":
            return
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, who.csrf):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")

    def _expire(self) -> None:
        now = time.time()
        for sid in [k for k, v in self.sessions.items() if v.expires < now]:
            del self.sessions[sid]
