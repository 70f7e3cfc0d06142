"""Structured logging for every haad process: one JSON object per line (or plain text), and the one
rule that keeps secrets in URLs (camera credentials, tokens, database passwords) out of logs."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime

_USERINFO = re.compile(r"//[^/@?#]*@")
_SECRET_PARAM = re.compile(
    r"([?&;](?:access_token|token|auth|key|api_?key|pass(?:word|wd)?|pwd|secret|sig(?:nature)?)=)[^&;#]*",
    re.IGNORECASE,
)
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
    """Replace the root logger's handlers with one stderr handler: ``json`` lines or ``text``."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def redact_url(url: str) -> str:
    """``url`` fit for a log line: user and password (``//user:pass@``) and secret-looking query
    parameters (``?token=...``, ``&password=...``) replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub("//***@", url))
