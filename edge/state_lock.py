"""Exclusive locks on a deployment's local state (``state_dir``): one daemon per state folder, one
worker per alert outbox. A lock is an ``flock`` on a file, so the kernel releases it when its holder
dies, however it dies; the file names the holder's pid for the message that refuses a second one."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from config.edge import EdgeConfig


def state_dir(cfg: EdgeConfig) -> Path:
    """Where a deployment keeps its local state: the alert outbox and the locks."""
    return Path(cfg.state_dir or ".")


def outbox_path(cfg: EdgeConfig) -> Path:
    """The alert outbox file of this deployment (edge.alert_outbox)."""
    return state_dir(cfg) / "alert-outbox.db"


HOLDER_READS = 10  # over about 1 s


class StateLocked(RuntimeError):
    """Another process holds the lock."""


def hold_lock(path: Path, *, what: str, wait_s: float = 0.0) -> IO[bytes]:
    """Take the exclusive lock ``path`` (created), waiting up to ``wait_s`` for its holder to go; it is
    held while the returned file stays open. Raises :class:`StateLocked` naming ``what`` holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("a+b", buffering=0)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _holder(f)
                f.close()
                raise StateLocked(f"{what} (pid {holder}) already uses {path.parent}") from None
            time.sleep(0.1)
    try:
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n".encode())
    except OSError:
        pass  # a full disk: the lock holds all the same, only its message lacks the pid
    return f


def _holder(f: IO[bytes]) -> str:
    """The pid the holder wrote, waiting a moment for one that took the lock an instant ago (two
    started together) and has yet to write it: till then the file is empty, or holds the pid of the
    holder before it, dead (killed: the kernel released its lock)."""
    holder = ""
    for _ in range(HOLDER_READS):
        f.seek(0)
        holder = f.read().decode(errors="replace").strip()
        if holder and _alive(holder):
            return holder
        time.sleep(0.1)
    return holder or "unknown"  # a pid of another pid namespace (a container) is never seen alive


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, OverflowError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # another user's process
    return True
