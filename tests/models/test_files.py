"""models/files.py: a file written there survives a power loss whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from models.files import atomic_write


def test_the_data_and_then_the_rename_are_synced_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the syncs a power loss could leave a renamed but empty profile version. A power loss
    # cannot be made here, so the test watches the syncs themselves: the real os.fsync still runs.
    synced: list[tuple[str, bytes | None]] = []
    real_fsync = os.fsync

    def watch(fd: int) -> None:
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        synced.append(
            ("folder" if target.is_dir() else "file", None if target.is_dir() else target.read_bytes())
        )
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watch)
    path = tmp_path / "v0001.npz"
    atomic_write(path, lambda f: f.write(b"weights"), mode=0o644)
    assert synced == [("file", b"weights"), ("folder", None)]  # the data before the rename, then the rename
    assert path.read_bytes() == b"weights" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["v0001.npz"]


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "v0001.json"
    path.write_text("old")

    def fail(_: object) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["v0001.json"]
