"""A haad process forked while another of its threads held a store lock (tests fork haad to spare
its imports: tests.forked)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.store import engine
from tests.forked import run_forked


@pytest.mark.parametrize("lock", ["upgrade", "held connections", "deadlines"])
def test_a_child_forked_while_another_thread_held_a_store_lock_opens_and_writes_the_log(
    tmp_path: Path, lock: str
) -> None:
    # The child inherited the lock held and waited for ever: a forked `haad alerts deliver` hung
    # 60 s in a CI rehearsal.
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    held, release = threading.Event(), threading.Event()
    chosen = {"upgrade": engine._UPGRADE_IN_PROCESS, "held connections": engine._HELD_LOCK,
              "deadlines": engine.DEADLINES._changed}[lock]  # fmt: skip

    def hold() -> None:
        with chosen:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    try:
        script = (
            "from edge.store import AlertStore\n"
            "from edge.store.engine import DEADLINES\n"
            f"with AlertStore({url!r}) as log, DEADLINES.within(5), log.reading() as s:\n"
            "    s.connection()\n"
        )
        run = run_forked(script, tmp_path / "said", timeout_s=20)
    finally:
        release.set()
        holder.join()
    assert run.returncode == 0, run.stderr
