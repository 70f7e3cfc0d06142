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


def test_a_truncated_recording_is_one_error_though_its_restart_ends_it(
    truncated_video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The restart found nothing after the readable part and said so as a second ERROR.
    cut = StreamConfig(id="cut", source=VideoSourceConfig(path=str(truncated_video), realtime=False))
    caplog.set_level(logging.INFO, logger="pose_frontend")
    done = run_camera(cut, QueuePublisher(queue.Queue()), threading.Event(), Counters(), threading.Semaphore(1),
                      SupervisorConfig(initial_backoff_s=0.01, max_backoff_s=0.01))  # fmt: skip
    assert done  # the recording ended where it can no longer be read
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "truncated or corrupt" in errors[0], errors
    ended = [r for r in caplog.records if "the recording ends there" in r.getMessage()]
    assert len(ended) == 1 and ended[0].levelno == logging.WARNING
