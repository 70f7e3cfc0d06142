"""The one rule that keeps secrets in URLs (camera credentials, webhook tokens, database passwords)
out of what haad shows: log lines, /health, the API, the CLI and configuration errors. It lives in
the bottom layer so that config's own validation errors can use it too.

The rule, for every URL: the user and password (``//user:pass@``) and any query value under a
secret's name (``?token=``, ``&password=``) or that looks random are ``***``. The path and query of a
database, stream or broker URL (``sqlite:``, ``postgresql:``, ``rtsp:``, ``mqtt:``, ...) are its
file, stream and options: the rest of them stays as it is. Any other URL (``https:``, a mistyped
``htps:``) names a web receiver, which keeps its key where it likes: there every query value but a
short number, every path segment after a webhook word (``webhook``, ``webhooks``, ``hooks``, Slack's
``services``) but a number, and any random-looking path segment are ``***``. Scheme, host, port and
the other path words stay, to tell one URL from another."""

from __future__ import annotations

import re

# Greedy up to the last "@" before the path: a password with an unencoded "@", "?" or "#" in it is
# still masked whole (urlsplit and a lazy match both cut it there and showed the rest).
_USERINFO = re.compile(r"//[^/]*@")
_SECRET_NAME = re.compile(
    r"access_token|token|auth|key|api_?key|(?:ssl)?pass(?:word|wd)?|pwd|secret|sig(?:nature)?",
    re.IGNORECASE,
)
_QUERY_ITEM = re.compile(r"([^&;=]*=)?([^&;]*)")
_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/]*)(.*)", re.DOTALL)
_NOT_WEB = {"sqlite", "postgresql", "postgres", "rtsp", "rtsps", "rtmp", "rtmps", "udp", "tcp", "srt",
            "mqtt", "mqtts", "file"}  # fmt: skip
_HOOK_WORDS = {"webhook", "webhooks", "hooks", "services"}
_SHORT_NUMBER = re.compile(r"\d[\d.]{0,4}")  # a frame rate, a channel, a width: fps=5, channel=1


def redact_url(url: str) -> str:
    """``url`` fit for a log line, /health, an API answer or a configuration error (the rule above)."""
    url = _USERINFO.sub("//***@", url)
    head, hash_, fragment = url.partition("#")
    base, mark, query = head.partition("?")
    parts = _AUTHORITY.fullmatch(base)
    web = parts is not None and parts[1].lower().split("+")[0] not in _NOT_WEB
    query = _QUERY_ITEM.sub(lambda m: _query_item(m[1] or "", m[2], web=web), query)
    if web and parts is not None:
        base = f"{parts[1]}://{parts[2]}{_web_path(parts[3])}"
    return base + mark + query + hash_ + fragment


def _query_item(name_eq: str, value: str, *, web: bool) -> str:
    if not value:
        return name_eq
    secret = _SECRET_NAME.fullmatch(name_eq[:-1]) is not None or _token_like(value)
    return name_eq + ("***" if secret or (web and not _SHORT_NUMBER.fullmatch(value)) else value)


def _web_path(path: str) -> str:
    """Segments after a webhook word hold the receiver's key (Home Assistant's ``/api/webhook/<id>``
    is a word its user chose; Slack's ``/services/T../B../<token>``), so all but numeric ids go."""
    shown, after_hook = [], False
    for seg in path.split("/"):
        masked = _token_like(seg) or (after_hook and bool(seg) and not seg.isdigit())
        shown.append("***" if masked else seg)
        after_hook = after_hook or seg.lower() in _HOOK_WORDS
    return "/".join(shown)


def _token_like(text: str) -> bool:
    """Random-looking: 24 characters or more, or 12 or more mixing letters and digits. Words and
    short ids (``services``, ``T0AB12CD3``, ``fps=5``) stay readable."""
    if len(text) >= 24:
        return True
    return len(text) >= 12 and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
