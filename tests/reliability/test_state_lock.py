"""The refusal of a second daemon or worker names the holder's pid even when it comes in the instant
between the holder taking the lock and writing its pid into the file (two daemons started together,
or one at once after a kill -9, whose pid the file still holds)."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from edge.state_lock import StateLocked, hold_lock


@pytest.mark.parametrize("writes_after_s", [0.0, 0.05, 0.3])
@pytest.mark.parametrize(
    "left",
    ["", "999999999\n"],
    ids=["first_holder", "after_a_killed_holder"],  # a kill -9 leaves its pid
)
def test_a_refusal_names_a_holder_that_had_not_written_its_pid_yet(
    tmp_path: Path, writes_after_s: float, left: str
) -> None:
    path = tmp_path / "haad.lock"
    path.write_text(left)

    def write_own_pid() -> None:
        holder.seek(0)
        holder.truncate()
        holder.write(f"{os.getpid()}\n".encode())

    with path.open("a+b", buffering=0) as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # taken, its pid not written yet
        later = threading.Timer(writes_after_s, write_own_pid)
        later.start()
        try:
            with pytest.raises(StateLocked, match=rf"a daemon \(pid {os.getpid()}\) already uses"):
                hold_lock(path, what="a daemon")
        finally:
            later.join()


def test_a_lock_left_by_a_dead_holder_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "haad.lock"
    path.write_text("999999999\n")  # its holder died: the kernel released the lock with it
    with hold_lock(path, what="a daemon"):
        assert path.read_text() == f"{os.getpid()}\n"
