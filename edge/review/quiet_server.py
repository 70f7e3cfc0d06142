"""Uvicorn's server, stopping on Ctrl-C or SIGTERM the way haad's other long-running commands do."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn


class QuietServer(uvicorn.Server):
    """Ctrl-C or SIGTERM shut the server down and return, so ``haad serve`` exits 0 as ``haad run``
    and ``haad events run`` do: Uvicorn raised the signal again once shut down (130 on Ctrl-C; killed
    by SIGTERM, which a supervisor may count as a failure). A second Ctrl-C still forces the exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # only it may set handlers
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
