"""Structured logging for every haad process: one JSON object per line (or plain text), and the one
rule that keeps secrets in URLs (camera credentials, tokens, database passwords) out of logs."""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import re
import threading
from datetime import UTC, datetime
from typing import TextIO

_USERINFO = re.compile(r"//[^/@?#]*@")
_SECRET_PARAM = re.compile(
    r"([?&;](?:access_token|token|auth|key|api_?key|(?:ssl)?pass(?:word|wd)?|pwd|secret|sig(?:nature)?)=)[^&;#]*",
    re.IGNORECASE,
)
_WEB_PATH = re.compile(r"^(https?://[^/?#]*)([^?#]*)", re.IGNORECASE)
_QUERY_VALUE = re.compile(r"([?&;][^=&;#]*=)([^&;#]*)")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "process", "pid", "msg", ...extra fields}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "pid": os.getpid(),
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str | int = "INFO", fmt: str = "json") -> None:
    """Replace the root logger's handlers with one stderr handler: ``json`` lines or ``text``.

    With ``json``, whatever else writes to this process's stderr (MediaPipe's and TensorFlow Lite's
    native logging, warnings, a traceback) is captured and re-emitted as JSON lines of the logger
    ``native``, so the log stays one JSON object per line.
    """
    if fmt == "json":
        handler = logging.StreamHandler(_capture_native_stderr())
        handler.lock = _WRITE_LOCK  # whole lines from the handler and the forwarder, never mixed
        handler.setFormatter(JsonFormatter())
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at every start are not news


_native: TextIO | None = None  # the real stderr, once fd 2 is captured
_WRITE_LOCK = threading.RLock()
_NATIVE_LEVELS = {"W": logging.WARNING, "E": logging.ERROR, "F": logging.ERROR}  # by first letter


def _capture_native_stderr() -> TextIO:
    """Point fd 2 at a pipe whose lines a thread logs; return a stream on the real stderr (once per
    process). Native log lines start with their level (glog: ``W0000 ...``, TFLite: ``INFO: ...``)."""
    global _native
    if _native is not None:
        return _native
    _native = os.fdopen(os.dup(2), "w", buffering=1)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    if faulthandler.is_enabled():
        faulthandler.enable(file=_native)  # a crash report must not wait for the reader thread

    def forward() -> None:
        native = logging.getLogger("native")
        with os.fdopen(read_fd, errors="replace") as lines:
            for line in lines:
                text = line.rstrip()
                if _is_json_object(text):  # a child process's own log line: pass it on as it is
                    with _WRITE_LOCK:
                        out.write(text + "\n")
                elif text:
                    level = _NATIVE_LEVELS.get(text[0], logging.INFO)
                    native.log(level, text)

    out = _native
    threading.Thread(target=forward, name="haad-native-stderr", daemon=True).start()
    return _native


def _is_json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """``url`` fit for a log line, /health or an API answer: user and password (``//user:pass@``),
    secret-looking query parameters (``?token=...``, ``&password=...``), token-looking query values
    and, in an http(s) URL, token-looking path segments (Slack's, Discord's, Home Assistant's
    webhooks carry their token as the path) replaced by ``***``. Scheme, host, port and the other
    segments stay, to tell the URL from another; the path of any other URL (a database file, a
    camera's stream) is left as it is."""
    url = _SECRET_PARAM.sub(r"\1***", _USERINFO.sub("//***@", url))
    url = _QUERY_VALUE.sub(lambda m: m[1] + ("***" if _token_like(m[2]) else m[2]), url)
    return _WEB_PATH.sub(
        lambda m: m[1] + "/".join("***" if _token_like(seg) else seg for seg in m[2].split("/")), url
    )


def _token_like(text: str) -> bool:
    """Random-looking: 24 characters or more, or 12 or more mixing letters and digits. Words and
    short ids (``services``, ``T0AB12CD3``, ``fps=5``) stay readable."""
    if len(text) >= 24:
        return True
    return len(text) >= 12 and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
