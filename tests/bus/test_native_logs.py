"""MediaPipe's and TensorFlow Lite's native start-up lines: boilerplate at DEBUG in the daemon's log
and off a CLI's terminal; any other native warning keeps its level."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BOILERPLATE = ("XNNPACK delegate", "absl::InitializeLog", "inference_feedback_manager", "NORM_RECT without")
UNKNOWN = "W0000 00:00:1.0 1 some_calculator.cc:7] something nobody has seen before"

# Pose estimation on one picture, then a native warning nobody has listed; fd 2 is closed at the
# end so that the reader forwarding it meets its end and is waited for.
_ESTIMATE = """
import os, sys
import cv2
from config.frontend import EstimatorConfig
from pose_frontend.estimator import open_estimator
def estimate():
    est = open_estimator(EstimatorConfig())
    rgb = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
    for i in range(3):
        est.estimate(rgb, i / 30)
    est.close()
    os.write(2, sys.argv[2].encode() + b"\\n")
"""


@pytest.fixture
def picture(data_root: Path) -> Path:
    return data_root / "mediapipe_pose_testdata" / "pose.jpg"


def _run(script: str, picture: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _ESTIMATE + script, str(picture), UNKNOWN],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stderr


def test_mediapipe_start_up_lines_are_debug_and_an_unknown_native_warning_stays_a_warning(
    picture: Path,
) -> None:
    # Every frontend start logged four WARNING lines that report nothing wrong.
    stderr = _run(
        "from bus.logs import setup_logging, wait_for_native_stderr\n"
        "setup_logging('DEBUG', 'json')\n"
        "estimate()\n"
        "os.close(2)\n"
        "wait_for_native_stderr(10)\n",
        picture,
    )
    native = [r for r in map(json.loads, stderr.splitlines()) if r["logger"] == "native"]
    for part in BOILERPLATE:
        assert [r["level"] for r in native if part in r["msg"]][:1] == ["DEBUG"], part
    assert [r["level"] for r in native if r["msg"] == UNKNOWN] == ["WARNING"]
    assert {r["level"] for r in native} == {"DEBUG", "WARNING"}


def test_a_quiet_stderr_drops_mediapipe_boilerplate_and_keeps_every_other_line(picture: Path) -> None:
    stderr = _run(
        "from bus.logs import quiet_native_stderr\n"
        "with quiet_native_stderr():\n"
        "    estimate()\n"
        "    print('warning: from python', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\n",
        picture,
    )
    assert stderr.splitlines() == [UNKNOWN, "warning: from python", "after"]


@pytest.mark.slow
def test_enroll_keeps_mediapipe_boilerplate_off_the_terminal_unless_verbose(
    tmp_path: Path, data_root: Path
) -> None:
    # Every `haad enroll` printed MediaPipe's start-up lines among its own.
    config = tmp_path / "edge.yaml"
    config.write_text(f"profiles_dir: {tmp_path / 'profiles'}\n")
    haad = Path(sys.executable).with_name("haad")
    shown = {}
    for name, extra in (("quiet", []), ("verbose", ["--verbose"])):
        done = subprocess.run(
            [haad, "enroll", *extra, "--profile", name, "--config", config, data_root / "mediapipe_pose_testdata" / "pose_1.mp4"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"profile {name} v1:")
        shown[name] = done.stderr
    assert not any(part in shown["quiet"] for part in BOILERPLATE)
    assert "warning: the threshold comes from one clip" in shown["quiet"]
    assert all(part in shown["verbose"] for part in BOILERPLATE)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_text_log_leaves_out_mediapipe_boilerplate_unless_debug(picture: Path, level: str) -> None:
    # `haad frontend run`, and `haad run` with logging.format: text, printed every start-up line.
    stderr = _run(
        "import logging\n"
        "from bus.logs import setup_logging, wait_for_native_stderr\n"
        f"setup_logging({level!r}, 'text')\n"
        "estimate()\n"
        "print('warning: from python', file=sys.stderr)\n"
        "logging.getLogger('haad.test').warning('a log line')\n"
        "os.close(2)\n"
        "wait_for_native_stderr(10)\n",
        picture,
    )
    # the log line is written at once, the captured ones after the reader got them
    logged = [line for line in stderr.splitlines() if line.endswith("WARNING haad.test: a log line")]
    lines = [line for line in stderr.splitlines() if line not in logged]
    assert len(logged) == 1
    if level == "INFO":
        assert lines == [UNKNOWN, "warning: from python"]
    else:
        assert all(any(part in line for line in lines) for part in BOILERPLATE)
        assert UNKNOWN in lines


_TRACEBACKS = """
import os, subprocess, sys, threading
from bus.logs import setup_logging, wait_for_native_stderr
setup_logging('WARNING', 'json')
def fail():
    raise ValueError("boom in a thread")
thread = threading.Thread(target=fail, name="failing")
thread.start()
thread.join()
# a child dying before its logging is set up, its exception chained to another
subprocess.run([sys.executable, "-c", "try:\\n    {}['a']\\nexcept KeyError:\\n    raise RuntimeError('child died')"])
os.write(2, b"I0000 an ordinary native line\\n")
os.close(2)
wait_for_native_stderr(10)
"""


def test_a_python_traceback_on_stderr_is_one_error_record_at_any_level() -> None:
    # Line by line, a traceback's lines were INFO records: a log kept at WARNING dropped them all.
    done = subprocess.run([sys.executable, "-c", _TRACEBACKS], capture_output=True, text=True, timeout=60)
    records = [json.loads(line) for line in done.stderr.splitlines()]
    errors = [r["msg"] for r in records if r["logger"] == "native"]
    assert [r["level"] for r in records if r["logger"] == "native"] == ["ERROR"] * len(errors)
    thread, *child = errors
    assert thread.startswith("Exception in thread failing") and thread.endswith(
        "ValueError: boom in a thread"
    )
    assert "Traceback (most recent call last):" in thread and '  File "<string>"' in thread
    assert "KeyError: 'a'" in child[0] and child[-1].endswith("RuntimeError: child died")
    assert "During handling of the above exception" in "\n".join(child)
