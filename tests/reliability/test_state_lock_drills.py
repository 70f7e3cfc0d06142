"""One daemon per ``state_dir`` (edge/state_lock.py) at the moments a second one is likeliest: started
with the first (0 s, 0.3 s, 1.5 s into its start), and at once after the first was killed with
SIGKILL, while its children are still shutting down, once or twice within a second. The second is
refused with the holder's pid, or takes over: never two at once, and the episode open at the kill is
one closed alert."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.daemon_harness import Daemon, demo_profiles, start_daemon, wait, walk_with
from tests.reliability.test_drills import closed_alert, finish, reference, stream

pytestmark = pytest.mark.slow  # each drill runs the daemon for 15-60 s


def test_a_second_daemon_on_the_same_state_dir_is_refused_however_soon_it_starts(tmp_path: Path) -> None:
    # A pair of daemons per gap, each pair on a state_dir of its own, the three pairs at once.
    script = walk_with("jump_flail", 4.0, before=4.0, after=4.0)
    pairs: list[tuple[float, Daemon, Daemon]] = []
    try:
        for gap_s in (0.0, 0.3, 1.5):
            folder = tmp_path / f"gap{gap_s}"
            folder.mkdir()
            first = start_daemon(folder, [stream(script)], demo_profiles(folder / "profiles"))
            time.sleep(gap_s)
            pairs.append((gap_s, first, first.again("second.log")))
        for gap_s, first, second in pairs:
            # Started together, either may win; the other is refused, naming the winner.
            wait(
                lambda: first.proc.poll() == 2 or second.proc.poll() == 2,  # noqa: B023
                60,
                f"one of the two started {gap_s} s apart to be refused",
            )
            loser, winner = (first, second) if first.proc.poll() == 2 else (second, first)
            refusal = loser.log()
            assert f"another haad daemon (pid {winner.proc.pid}) already uses {first.folder}" in refusal, (
                gap_s,
                refusal[-2000:],
            )
        for _, first, second in pairs:
            finish(second if first.proc.poll() == 2 else first)
    finally:
        for _, first, second in pairs:
            first.stop()
            second.stop()
    for gap_s, first, _ in pairs:
        try:
            closed_alert(first)
        except AssertionError as e:
            raise AssertionError(f"the daemons started {gap_s} s apart: {e}") from e


def test_a_daemon_started_at_once_after_a_kill_9_takes_over_the_open_episode(tmp_path: Path) -> None:
    # Killed, a new one started at once and killed again 0.7 s into its start, a third at once: one
    # kill and a start after it (test_drills.py) is the first half of this.
    kills = 2
    script = walk_with("jump_flail", 16.0, before=6.0, after=5.0)
    expected, _, _ = reference(script)
    cam = stream(script, starts_at=time.time() + 4.0)  # a camera that carries on while haad is down
    daemons = [start_daemon(tmp_path, [cam], demo_profiles(tmp_path / "profiles"))]
    try:
        wait(lambda: "ALERT stream=cam" in daemons[0].log(), 60, "the alert to open")
        time.sleep(1.5)
        for i in range(kills):  # the next starts before the killed one's children are gone
            daemons[-1].proc.kill()
            daemons[-1].proc.wait(timeout=10)
            daemons.append(daemons[0].again(f"daemon{i + 2}.log"))
            if i + 1 < kills:
                time.sleep(0.7)  # killed again within a second of its start
        finish(daemons[-1])
    finally:
        for d in daemons:
            d.stop()
    alert = closed_alert(daemons[0])
    assert "left open by a previous worker" in daemons[-1].log()
    assert alert.n_windows <= expected + 2, (alert.n_windows, expected)
