"""Live sources: a camera or stream that disappears and comes back is reopened with backoff, counted,
and frames before and after keep flowing with wall-clock timestamps.

No camera exists on this machine, so the webcam cases inject a fake capture through the factory
parameter (the one thing faked here). The URL case is real: FFmpeg reads the squat video from an
HTTP server on 127.0.0.1 that goes down for a while.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from config.frontend import ReconnectConfig, UrlSourceConfig, WebcamSourceConfig
from config.redaction import redact_url
from pose_frontend.base import Source, SourceError, SourceUnavailableError
from pose_frontend.live import LiveSource, Outage
from pose_frontend.sources import open_source

FAST = ReconnectConfig(initial_backoff_s=0.05, max_backoff_s=0.4)


class FakeCamera:
    """A capture delivering numbered frames at ``fps``; ``plan`` says, per open attempt, whether the
    device opens and how many frames it gives before it "disappears"."""

    def __init__(self, plan: list[int | None], fps: float = 100.0) -> None:
        self.plan = plan  # None: fails to open; n: opens and delivers n frames, then read fails
        self.fps = fps
        self.opens = 0
        self.counter = 0
        self._left = 0
        self._opened = False

    def factory(self) -> FakeCamera:
        step = self.plan[min(self.opens, len(self.plan) - 1)]
        self.opens += 1
        self._opened = step is not None
        self._left = step or 0
        return self

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self._opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._left <= 0:
            return False, None
        time.sleep(1.0 / self.fps)
        self._left -= 1
        self.counter += 1
        frame = np.zeros((4, 6, 3), dtype=np.uint8)
        frame[..., 0] = self.counter % 256  # blue channel in OpenCV's BGR order
        return True, frame

    def release(self) -> None:
        self._opened = False


def _take(source: LiveSource, n: int, timeout_s: float = 30.0) -> list[tuple[float, np.ndarray]]:
    out: list[tuple[float, np.ndarray]] = []
    deadline = time.monotonic() + timeout_s
    for item in source:
        out.append(item)
        if len(out) >= n or time.monotonic() > deadline:
            break
    return out


def test_camera_that_disappears_is_reopened_with_backoff_and_counted() -> None:
    camera = FakeCamera(plan=[20, None, None, None, 1000])
    config = WebcamSourceConfig(index=0, reconnect=FAST)
    before = time.time()
    with open_source(config, capture_factory=camera.factory) as source:
        frames = _take(source, 40)
    times = np.array([t for t, _ in frames])
    values = np.array([int(rgb[0, 0, 2]) for _, rgb in frames])  # BGR blue -> RGB index 2
    assert len(frames) == 40
    assert source.stats["reconnects"] == 1 and source.stats["failed_opens"] == 3 and camera.opens == 5
    assert np.all(np.diff(times) > 0) and before <= times[0] <= time.time()
    assert np.all(np.diff(values) > 0)  # newest-first delivery never goes back in the camera's order
    # The outage shows as one gap in the wall-clock timestamps at least as long as the backoffs
    # (0.05 after the loss, then 0.1, 0.2, 0.4 after the failed attempts).
    gaps = np.diff(times)
    assert gaps.max() >= 0.05 + 0.1 + 0.2 + 0.4 - 0.02
    assert np.sum(gaps > 0.3) == 1
    assert (values <= 20).sum() >= 5 and (values > 20).sum() >= 5  # frames before and after


def test_a_stream_that_opens_but_delivers_nothing_backs_off_like_a_failed_open() -> None:
    camera = FakeCamera(plan=[10, 0, 0, 0, 1000])  # 0: opens, then the first read fails
    with open_source(WebcamSourceConfig(reconnect=FAST), capture_factory=camera.factory) as source:
        times = np.array([t for t, _ in _take(source, 20)])
    assert source.stats["failed_opens"] == 3 and source.stats["reconnects"] == 1
    assert np.diff(times).max() >= 0.05 + 0.1 + 0.2 + 0.4 - 0.02  # the backoff grew


def test_a_camera_that_never_comes_back_gives_up_after_max_attempts() -> None:
    camera = FakeCamera(plan=[5, None])
    reconnect = ReconnectConfig(initial_backoff_s=0.01, max_backoff_s=0.02, max_attempts=3)
    source = open_source(WebcamSourceConfig(reconnect=reconnect), capture_factory=camera.factory)
    delivered = []
    with pytest.raises(SourceUnavailableError, match="3 attempts"):
        for item in source:
            delivered.append(item)
    assert 1 <= len(delivered) <= 5 and source.stats["failed_opens"] == 3


def test_stop_ends_a_source_waiting_in_backoff() -> None:
    camera = FakeCamera(plan=[None])
    stop = threading.Event()
    slow = ReconnectConfig(initial_backoff_s=30, max_backoff_s=60)
    source = open_source(WebcamSourceConfig(reconnect=slow), stop=stop, capture_factory=camera.factory)
    got: list[object] = []

    def read_then_close() -> None:
        got.extend(source)
        source.close()  # its reader thread ended too

    reader = threading.Thread(target=read_then_close, daemon=True)
    reader.start()
    # Stopped once its first open failed (its back-off then due), not after a 0.3 s timer with a
    # 2 s limit, which a loaded host could miss; a stop left to the back-off takes its 30 s.
    deadline = time.monotonic() + 30
    while not source.stats["failed_opens"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stop.set()
    reader.join(15)
    assert not reader.is_alive() and got == []


def test_slow_consumer_gets_the_newest_frame_and_skips_are_counted() -> None:
    camera = FakeCamera(plan=[10_000], fps=200)
    source = open_source(WebcamSourceConfig(reconnect=FAST), capture_factory=camera.factory)
    values = []
    for _, rgb in source:
        values.append(int(rgb[0, 0, 2]))
        time.sleep(0.05)  # a slow pose estimator
        if len(values) == 5:
            break
    source.close()
    assert source.stats["skipped"] > 10
    assert np.all(np.diff(values) > 1)  # frames in between were dropped, not queued


def test_credentials_are_kept_out_of_logs() -> None:
    assert redact_url("rtsp://admin:hunter2@10.0.0.5:554/s1") == "rtsp://***@10.0.0.5:554/s1"
    assert redact_url("http://cam.local/mjpeg") == "http://cam.local/mjpeg"
    assert redact_url("http://cam.local/live?token=s3cr3t&fps=5") == "http://cam.local/live?token=***&fps=5"
    assert redact_url("rtsp://10.0.0.5/s?user=a&password=b") == "rtsp://10.0.0.5/s?user=a&password=***"


def test_a_camera_password_file_that_cannot_be_read_is_one_source_error(tmp_path: Path) -> None:
    # It was a SecretError traceback out of the frontend process.
    config = UrlSourceConfig(
        url="rtsp://admin@127.0.0.1:1/s1",
        password={"file": str(tmp_path / "gone.pw")},  # type: ignore[arg-type]
    )
    with pytest.raises(
        SourceError, match=r"rtsp://\*\*\*@127.0.0.1:1/s1: cannot read the secret file .*gone.pw"
    ):
        list(open_source(config))


# --- a real network stream ---------------------------------------------------------------------


class _FlakyVideoServer(ThreadingHTTPServer):
    """Serves one file with byte ranges (FFmpeg seeks to the mp4 index); ``down_for`` open attempts
    after the first complete stream are answered 503."""

    def __init__(self, video: bytes, down_for: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.video = video
        self.down_for = down_for
        self.opens = 0  # requests from byte 0: one per open attempt
        self.refused = 0


class _Handler(BaseHTTPRequestHandler):
    server: _FlakyVideoServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        data = self.server.video
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "bytes=0-"))
        start = int(m[1]) if m else 0
        end = int(m[2]) if m and m[2] else len(data) - 1
        if start == 0:
            self.server.opens += 1
            if 2 <= self.server.opens <= 1 + self.server.down_for:
                self.server.refused += 1
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
                return
        self.send_response(HTTPStatus.PARTIAL_CONTENT if start or end < len(data) - 1 else HTTPStatus.OK)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        try:
            self.wfile.write(data[start : end + 1])
        except (BrokenPipeError, ConnectionResetError):
            pass  # FFmpeg hung up after reading what it needed

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def flaky_server(squat_video: Path) -> Iterator[_FlakyVideoServer]:
    server = _FlakyVideoServer(squat_video.read_bytes(), down_for=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_url_stream_that_goes_down_is_reopened_and_keeps_flowing(flaky_server: _FlakyVideoServer) -> None:
    url = f"http://127.0.0.1:{flaky_server.server_address[1]}/cam.mp4"
    config = UrlSourceConfig(url=url, reconnect=ReconnectConfig(initial_backoff_s=0.1, max_backoff_s=1))
    with open_source(config) as source:
        # The whole 65-frame file, then the "camera" is down for two attempts, then back.
        frames = []
        deadline = time.monotonic() + 30
        for item in source:
            frames.append(item)
            if source.stats["reconnects"] >= 1 and len(frames) >= 10 or time.monotonic() > deadline:
                break
        after = [t for t, _ in _take(source, 5)]
    times = np.array([t for t, _ in frames] + after)
    assert len(frames) > 10 and len(after) == 5  # frames before and after the outage
    assert flaky_server.refused == 2
    assert source.stats["reconnects"] == 1 and source.stats["failed_opens"] == 2
    assert np.all(np.diff(times) > 0)
    assert np.diff(times).max() >= 0.1 + 0.2 + 0.4 - 0.05  # the outage, on the wall clock
    assert frames[0][1].shape == (1280, 720, 3)


def _open_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "open" in r.getMessage()
    ]


def test_an_unreachable_url_is_logged_again_at_growing_intervals_and_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The first failure was logged, then nothing while it kept retrying: an hour later the log said
    # nothing of a camera that was still unreachable.
    reconnect = ReconnectConfig(initial_backoff_s=0.001, max_backoff_s=0.002, max_attempts=9)
    config = UrlSourceConfig(url="rtsp://admin@127.0.0.1:1/none?token=s3cr3t", reconnect=reconnect)
    with caplog.at_level(logging.DEBUG, logger="pose_frontend.live"), pytest.raises(SourceUnavailableError):
        list(open_source(config))
    lines = _open_failures(caplog)
    assert len(lines) == 4 and lines[0].startswith("rtsp://***@127.0.0.1:1/none?token=***: cannot open;")
    assert [re.search(r"still cannot open \((\d+) failed attempts since ", line)[1] for line in lines[1:]] == [  # type: ignore[index]
        "2", "4", "8"
    ]  # fmt: skip
    assert "admin" not in caplog.text and "s3cr3t" not in caplog.text


def test_a_source_that_opens_after_failing_says_so(caplog: pytest.LogCaptureFixture) -> None:
    camera = FakeCamera(plan=[None, None, None, 1000])
    with caplog.at_level(logging.INFO, logger="pose_frontend.live"):
        with open_source(WebcamSourceConfig(reconnect=FAST), capture_factory=camera.factory) as source:
            _take(source, 3)
    opened = [r for r in caplog.records if "opened after" in r.getMessage()]
    assert len(opened) == 1 and opened[0].levelno == logging.INFO
    assert re.fullmatch(r"webcam 0: opened after 3 failed attempts since \S+Z", opened[0].getMessage())


def test_an_outage_is_logged_at_its_first_attempts_then_at_least_every_ten_minutes() -> None:
    outage, logged = Outage(), []
    for attempt in range(1, 200):  # one attempt every 30 s (the default longest backoff)
        if outage.failed(wall=1e9 + 30 * attempt, mono=30.0 * attempt):
            logged.append(attempt)
    assert logged[:6] == [1, 2, 4, 8, 16, 32]  # the 32nd is 8 minutes after the 16th
    assert np.diff(logged).max() * 30 <= 600 and len(logged) <= 16  # 100 minutes: a line per 10 at most


def _flap(camera: FakeCamera, reconnects: int) -> Source:
    """Read ``camera`` with a near-zero backoff until it was reconnected ``reconnects`` times (30 s at
    most); the source, closed, for its counters."""
    reconnect = ReconnectConfig(initial_backoff_s=0.001, max_backoff_s=0.002)
    with open_source(WebcamSourceConfig(reconnect=reconnect), capture_factory=camera.factory) as source:
        deadline = time.monotonic() + 30
        for _ in source:
            if source.stats["reconnects"] == reconnects or time.monotonic() > deadline:
                break
    return source


def test_a_flapping_stream_is_logged_at_growing_intervals_and_every_reconnect_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every loss was a WARNING and every reconnection an INFO line: a flapping camera flooded the log.
    camera = FakeCamera(plan=[2] * 17 + [1000])  # 17 losses, each reopened at the first attempt
    with caplog.at_level(logging.DEBUG, logger="pose_frontend.live"):
        source = _flap(camera, reconnects=17)
    assert source.stats["reconnects"] == 17 and source.stats["failed_opens"] == 0 and camera.opens == 18
    losses = [r for r in caplog.records if "stream lost" in r.getMessage()]
    reconnects = [r for r in caplog.records if "reconnected" in r.getMessage()]
    assert len(losses) == len(reconnects) == 17  # every one still there at DEBUG
    warned = [r.getMessage() for r in losses if r.levelno == logging.WARNING]
    assert len(warned) == 5  # the 1st, 2nd, 4th, 8th, 16th
    assert warned[0].startswith("webcam 0: stream lost; reopening in")
    assert [re.search(r"stream lost again \((\d+) losses since ", m)[1] for m in warned[1:]] == [  # type: ignore[index]
        "2", "4", "8", "16"
    ]  # fmt: skip
    assert sum(r.levelno == logging.INFO for r in reconnects) == 5


def test_a_reconnection_after_failed_attempts_is_logged_even_when_its_loss_was_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    camera = FakeCamera(plan=[2, 2, 2, None, 1000])  # the 3rd loss has no line, its failed open has
    with caplog.at_level(logging.INFO, logger="pose_frontend.live"):
        source = _flap(camera, reconnects=3)
    assert source.stats["reconnects"] == 3 and source.stats["failed_opens"] == 1
    said = [r.getMessage() for r in caplog.records]
    assert [m for m in said if "cannot open" in m] and said[-1].startswith(
        "webcam 0: reconnected after 1 failed"
    )
