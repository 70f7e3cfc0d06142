"""What an operator reads of a camera that fails inside a frontend: one ERROR per failure, the
restart that follows it at WARNING (two ERROR lines per failure read as two problems)."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import pytest

from config.frontend import StreamConfig, VideoSourceConfig
from config.supervisor import SupervisorConfig
from pose_frontend.base import Counters
from pose_frontend.group import QueuePublisher, run_camera


@pytest.mark.parametrize("backoff_s", [0.01, 0.2])
def test_a_camera_restarting_in_a_group_logs_one_error_per_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, backoff_s: float
) -> None:
    missing = StreamConfig(id="door", source=VideoSourceConfig(path=str(tmp_path / "gone.mp4")))
    supervisor = SupervisorConfig(initial_backoff_s=backoff_s, max_backoff_s=backoff_s, give_up_after=3)
    caplog.set_level(logging.INFO, logger="pose_frontend")
    done = run_camera(missing, QueuePublisher(queue.Queue()), threading.Event(), Counters(),
                      threading.Semaphore(1), supervisor)  # fmt: skip
    assert not done  # given up after its third failure
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    restarts = [r for r in caplog.records if "restarts in" in r.getMessage()]
    assert [m.split(":")[0] for m in errors] == ["stream door stopped"] * 3 + [errors[-1].split(":")[0]]
    assert "giving it up" in errors[-1]
    assert len(restarts) == 2 and {r.levelno for r in restarts} == {logging.WARNING}
