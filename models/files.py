"""Files written whole or not at all: checkpoints, profiles, augmentation banks, exported graphs."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: Path, write: Callable[[IO[bytes]], object], *, mode: int | None = None) -> None:
    """Call ``write`` on a temporary file next to ``path``, then rename it to ``path``: a reader sees the
    old file or the complete new one, never half of it (and a crash leaves no partial file). The data
    reach the disk before the rename and the rename before it returns: without the syncs a power
    loss could leave a renamed but empty file (ext4's delayed allocation) or the old one back.
    ``mode``: the file's permission bits (default: the temporary file's, owner-only)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_verified(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, then its SHA-256 beside it (``<name>.sha256``)."""
    atomic_write(path, lambda f: f.write(data))
    atomic_write(_digest_path(path), lambda f: f.write(hashlib.sha256(data).hexdigest().encode()))


def is_verified(path: Path) -> bool:
    """Whether ``path`` exists and matches the digest :func:`write_verified` put beside it (a file
    damaged since, or written by something else, does not)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == _digest_path(path).read_text().strip()
    except OSError:
        return False
