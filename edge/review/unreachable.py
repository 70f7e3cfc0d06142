"""The alert log down, restarting or out of connections, as the review server tells it apart: a
request answers 503 and the live stream waits, each with one log line instead of a traceback."""

from __future__ import annotations

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

LOG_UNREACHABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def why_unreachable(e: Exception) -> str:
    """The error's type and the driver's first line: it names the server and the failure, never the
    URL's password."""
    lines = str(getattr(e, "orig", None) or e).splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else '(no message)'}"
