"""OpenCV's and FFmpeg's lines on a camera's every retry (a refused RTSP URL, a missing file) went
raw into the log, one or two per attempt for as long as the camera was down. Each distinct line is
now logged when :class:`bus.logs.Outage` finds it news (1st, 2nd, 4th, ... time, with how many since
when), the rest at DEBUG; OpenCV's "can't be used to capture by name" after a failed open, which
says nothing the source's own line does not, is DEBUG boilerplate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Real captures that fail, ``attempts`` times, in a process whose fd 2 the daemon's logging
# captured; fd 2 is then closed so the forwarding reader ends, and is waited for.
_FAIL = """
import os, sys, time
import cv2
from bus.logs import setup_logging, wait_for_native_stderr
setup_logging(sys.argv[2], 'json')
for _ in range(int(sys.argv[1])):
    cv2.VideoCapture('rtsp://127.0.0.1:1/x', cv2.CAP_FFMPEG).release()
    cv2.VideoCapture('/nonexistent/camera.mp4', cv2.CAP_FFMPEG).release()
    time.sleep(float(sys.argv[3]))
os.close(2)
wait_for_native_stderr(10)
"""


def _native(attempts: int, level: str, pause_s: float) -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-c", _FAIL, str(attempts), level, str(pause_s)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return [r for r in map(json.loads, done.stderr.splitlines()) if r["logger"] == "native"]


@pytest.mark.parametrize("pause_s", [0.0, 0.02])
def test_a_cameras_repeated_native_lines_are_logged_at_growing_intervals(pause_s: float) -> None:
    shown = [r["msg"] for r in _native(9, "INFO", pause_s)]
    refused = [m for m in shown if "Connection refused" in m]
    assert len(refused) == 4, shown  # the 1st, 2nd, 4th and 8th of 9
    assert "times since" not in refused[0] and "(8 times since " in refused[-1]
    assert not [m for m in shown if "capture by name" in m]
    assert len(shown) <= 8  # and no other line of each attempt on its own: 9 attempts wrote 18+ lines


def test_every_native_line_is_there_at_debug() -> None:
    native = _native(3, "DEBUG", 0.0)
    assert len([r for r in native if "Connection refused" in r["msg"]]) == 3
    assert {r["level"] for r in native if "capture by name" in r["msg"]} == {"DEBUG"}


_DECODER = """
import os
from bus.logs import setup_logging, wait_for_native_stderr
setup_logging('INFO', 'json')
for i in range(9):  # a lossy RTSP stream's decoder, frame after frame: the numbers change every time
    os.write(2, f"[h264 @ 0x55d0a1b2c{i:03x}] error while decoding MB {i * 7} {i + 3}, bytestream -{i + 1}\\n".encode())
    # a damaged .avi's decoder: msmpeg4 starts its message with a newline, FFmpeg's prefix alone before it
    os.write(2, f"[msmpeg4 @ 0x55e97d9ad100] \\nerror while decoding block: {i} x 11 ({i % 5})\\n".encode())
    # each camera's smoothing graph of a packed process, while nobody is in view
    os.write(2, f'W0000 00:00:1796639237.{i:06d}   1083{i} calculator_graph.cc:1341] Resolved a deadlock by '
             f'increasing max_queue_size of input stream: "image_size" of a node "x" to {101 + i}. '
             'Consider increasing max_queue_size for better performance.\\n'.encode())
os.close(2)
wait_for_native_stderr(10)
"""


@pytest.mark.parametrize("line", ["[h264 @ ", "[msmpeg4 @ 0x55e97d9ad100] error while decoding block: ",
                                  "Resolved a deadlock"])  # fmt: skip
def test_a_decoders_or_graphs_line_repeated_with_other_numbers_is_one_line_repeated(
    decoder_logs: list[str], line: str
) -> None:
    shown = [m for m in decoder_logs if line in m]
    assert len(shown) == 4 and "(8 times since " in shown[-1], decoder_logs
    assert len(decoder_logs) == 12, decoder_logs  # nothing else: no prefix or message on a line alone


@pytest.fixture(scope="module")
def decoder_logs() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _DECODER], capture_output=True, text=True, timeout=60, check=True
    )
    return [r["msg"] for r in map(json.loads, done.stderr.splitlines()) if r["logger"] == "native"]


# A text-logging child passes its kept lines on as they are, its own count added: the daemon reading
# them must not count them again (it added a second "(N times since ...)" and dropped the 3rd line).
_CHILD_TEXT = """
import os, sys
from bus.logs import setup_logging, wait_for_native_stderr
setup_logging('INFO', 'text')
line = "[tcp @ 0x55d0a1b2c000] Connection to tcp://127.0.0.1:1 failed: Connection refused"
os.write(2, (line + "\\n").encode())
for n in (2, 4, 8, 16):
    os.write(2, f"{line} ({n} times since 2026-12-07T07:00:00Z)\\n".encode())
os.close(2)
wait_for_native_stderr(10)
"""


def test_a_text_logging_childs_counted_lines_are_passed_on_once_each() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD_TEXT], capture_output=True, text=True, timeout=60, check=True
    )
    shown = [line for line in done.stderr.splitlines() if "Connection refused" in line]
    assert len(shown) == 5, shown
    assert all(line.count("times since") <= 1 for line in shown), shown
