"""Uvicorn's server, stopping on Ctrl-C or SIGTERM the way haad's other long-running commands do."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator

import uvicorn


class QuietServer(uvicorn.Server):
    """Ctrl-C or SIGTERM shut the server down and return, so ``haad serve`` exits 0 as ``haad run``
    and ``haad events run`` do: Uvicorn raised the signal again once shut down (130 on Ctrl-C; killed
    by SIGTERM, which a supervisor may count as a failure). A second Ctrl-C still forces the exit.

    ``stopping`` is set as the shutdown begins, so that the pages' live streams, which never end by
    themselves, end at once: Uvicorn waited out its graceful timeout, then cancelled each, logging
    an ERROR with a traceback per page left open at every restart."""

    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self.stopping = stopping

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stopping.set()
        await super().shutdown(sockets)

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
