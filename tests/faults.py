"""Faults tests cause on purpose, shared by the unit tests and the drills: a full disk (``fill``, on
the ``full_disk`` fixture's file system) and a database that hangs or is down (:class:`TcpProxy`)."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Self


def fill(folder: Path) -> None:
    """Fill the file system under ``folder`` (see ``full_disk``) until a write fails."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 16, 1 << 10, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)


Mode = Literal["forward", "freeze", "refuse"]


class TcpProxy:
    """A TCP proxy a test breaks on purpose. In front of the PostgreSQL server it plays a database that
    hangs (``freeze``: connections stay open and nothing is forwarded any more; new ones are accepted
    and left waiting, as a frozen server, NAT box or proxy does) or one that is down (``refuse``: every
    connection is cut and new ones are refused); ``forward`` brings it back.

    Listens on 127.0.0.1:``port`` (a free one) and forwards to ``target`` while ``mode`` is forward;
    with ``upload_bytes_per_s``, what clients send goes on at that rate (a slow uplink)."""

    def __init__(self, target: tuple[str, int], *, upload_bytes_per_s: float | None = None) -> None:
        self.target = target
        self.upload_bytes_per_s = upload_bytes_per_s
        self.mode: Mode = "forward"
        self._generation = 0  # changes with every set(): sockets seen before may be gone
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._waiting: list[socket.socket] = []  # accepted while frozen: answered by nobody
        self._stop = threading.Event()
        self._listener = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    def url(self, url: str) -> str:
        """``url`` (a database URL of ``target``) through this proxy."""
        from sqlalchemy import make_url

        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def set(self, mode: Mode) -> None:
        with self._lock:
            self._generation += 1
            if mode == "refuse" and self.mode != "refuse":
                self._listener.close()
                for a, b in self._pairs:
                    _close(a, b)
                for s in self._waiting:
                    _close(s)
                self._pairs, self._waiting = [], []
            elif mode != "refuse" and self.mode == "refuse":
                self._listener = self._listen(self.port)
            if mode == "forward":
                for s in self._waiting:  # a thawed server answers those who waited
                    self._pairs.append((s, socket.create_connection(self.target)))
                self._waiting = []
            self.mode = mode

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            self._listener.close()
            for a, b in self._pairs:
                _close(a, b)
            for s in self._waiting:
                _close(s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _listen(self, port: int) -> socket.socket:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        return s

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                mode, generation = self.mode, self._generation
                listener = None if mode == "refuse" else self._listener
                sockets = [listener] if listener is not None else []
                if mode == "forward":
                    sockets += [s for pair in self._pairs for s in pair]
            if not sockets:
                self._stop.wait(0.05)
                continue
            poller = select.poll()  # not select(): a long test session may hold fds above 1023
            by_fd = {}
            for sock in sockets:
                try:
                    poller.register(sock, select.POLLIN)
                    by_fd[sock.fileno()] = sock
                except (OSError, ValueError):  # closed by set() meanwhile
                    pass
            readable = [by_fd[fd] for fd, _ in poller.poll(50) if fd in by_fd]
            with self._lock:
                if self._generation != generation:
                    continue
                for s in readable:
                    if s is listener:
                        client, _ = s.accept()
                        if mode == "freeze":
                            self._waiting.append(client)
                        else:
                            self._pairs.append((client, socket.create_connection(self.target)))
                    else:
                        self._forward(s)

    def _forward(self, s: socket.socket) -> None:
        pair = next((p for p in self._pairs if s in p), None)
        if pair is None:
            return
        other = pair[1] if s is pair[0] else pair[0]
        try:
            data = s.recv(65536)
            if data:
                other.sendall(data)
                if s is pair[0] and self.upload_bytes_per_s:
                    time.sleep(len(data) / self.upload_bytes_per_s)
                return
        except OSError:
            pass
        _close(*pair)
        self._pairs.remove(pair)


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass
