"""Who is asking: bearer tokens for API clients, a session cookie for browsers, CSRF for both.

* Tokens are configured as SHA-256 hashes (``serve.tokens``); a request carries the token itself in
  ``Authorization: Bearer <token>``. Bearer requests need no CSRF token: browsers never add that
  header on their own.
* The login page takes a token and sets ``haad_session``: a random id (HttpOnly, SameSite=Strict,
  Secure with ``secure_cookies``) that maps to the token's name and a per-session CSRF token, in
  memory (a restart logs everyone out). Any state-changing request authenticated by the cookie must
  send ``X-CSRF-Token`` (the pages read it from ``<meta name="csrf-token">``).
* ``auth: false`` (loopback hosts only, enforced by ``config.serve``): everyone is ``local``, and
  state-changing requests still need the server's CSRF token, so a web page in the same browser
  cannot post to the local server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

from config.serve import ServeConfig

COOKIE = "haad_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Identity:
    name: str
    csrf: str
    via: str  # "token", "session" or "none"


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

    def login(self, token: str) -> tuple[str, _Session] | None:
        name = self.check_token(token)
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
            name = self.check_token(header[7:].strip())
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
