"""A child process that dies with its parent: a ``haad run`` killed with SIGKILL (or crashing) must
not leave frontends and a worker behind, which a restarted daemon would then run beside. And when a
crashed child (or a packed camera) starts again: :class:`Restarts`.

On Linux the kernel sends the child ``signal`` when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
elsewhere a thread watches the parent pid. Either way a parent that was already gone when the child
started is noticed at once.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from config.supervisor import SupervisorConfig

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Call first thing in a child's ``run()``: it gets ``sig`` when its parent process dies."""
    parent = multiprocessing.parent_process()
    expected = parent.pid if parent is not None else os.getppid()
    if not (sys.platform.startswith("linux") and _set_pdeathsig(sig)):
        threading.Thread(
            target=_watch_parent, args=(expected, sig), name="haad-parent-watch", daemon=True
        ).start()
    if os.getppid() != expected:  # the parent died before the kernel was told
        os.kill(os.getpid(), sig)


def _set_pdeathsig(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(expected: int, sig: int, every_s: float = 1.0) -> None:
    while os.getppid() == expected:
        time.sleep(every_s)
    log.error("the parent process %d is gone; stopping", expected)
    os.kill(os.getpid(), sig)


def stop_on_signals(stop: Callable[[], object], *signals: int) -> None:
    """Call ``stop`` from a thread of its own once one of ``signals`` arrives.

    A Python signal handler runs in the main thread between any two bytecodes: inside a lock the main
    thread holds, and inside itself when signals come in a burst. A child's parent-death signal comes
    once per exiting thread of a multi-threaded parent (the kernel re-parents the child to the next
    one), and a handler that set a ``multiprocessing.Event`` there deadlocked on the event's lock,
    nested in itself: a housekeeping child of a killed daemon never stopped. This handler only writes
    a byte to a pipe, which takes no lock; a thread reads it and calls ``stop``.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def handler(_signum: int, _frame: FrameType | None) -> None:
        try:
            os.write(write_fd, b"\0")
        except BlockingIOError:  # the pipe is full: a stop is already on its way
            pass

    def relay() -> None:
        os.read(read_fd, 1)
        stop()

    threading.Thread(target=relay, name="haad-stop-signal", daemon=True).start()
    for sig in signals:
        signal.signal(sig, handler)


@dataclass
class Restarts:
    """One supervised child's restart bookkeeping: the wait before a restart doubles per failure (from
    ``initial_backoff_s`` up to ``max_backoff_s``) and starts over once the child has run
    ``stable_after_s``; ``give_up_after`` failures within ``give_up_window_s`` mean it cannot work
    without a fix. Times are ``time.monotonic()``'s."""

    policy: SupervisorConfig
    count: int = 0  # restarts so far
    backoff_s: float = 0.0
    failures: list[float] = field(default_factory=list)  # times of the failures within the window

    def running(self, started_at: float, now: float) -> None:
        """The child is alive at ``now``: once it has run ``stable_after_s`` it is healthy again."""
        if now - started_at >= self.policy.stable_after_s:
            self.backoff_s = 0.0

    def failed(self, now: float, *, may_give_up: bool = True) -> float | None:
        """The child failed at ``now``: the seconds to wait before starting it again, or None when it
        is given up (never, with ``may_give_up`` False)."""
        p = self.policy
        self.failures = [t for t in self.failures if now - t < p.give_up_window_s] + [now]
        if may_give_up and len(self.failures) >= p.give_up_after:
            return None
        self.backoff_s = min(p.max_backoff_s, self.backoff_s * 2 if self.backoff_s else p.initial_backoff_s)
        self.count += 1
        return self.backoff_s
