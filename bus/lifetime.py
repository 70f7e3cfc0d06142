"""A child process that dies with its parent: a ``haad run`` killed with SIGKILL (or crashing) must
not leave frontends and a worker behind, which a restarted daemon would then run beside.

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
