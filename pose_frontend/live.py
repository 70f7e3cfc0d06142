"""Live sources (local cameras, network streams) with reconnection and latest-frame delivery.

A reader thread owns the capture: it reads continuously, stamps every frame when it arrives, and
keeps only the newest one. The consumer (pose estimation, slower than the camera on a small CPU)
takes the newest frame, so latency never builds up in the camera's or FFmpeg's buffers and the
timestamps are arrival times, not read-out times. Frames replaced before they were taken are
counted as ``skipped``.

A capture that fails to open or stops delivering is released and reopened with exponential backoff
(``ReconnectConfig``); each successful reopening counts in ``reconnects`` and each failed
attempt in ``failed_opens`` (:class:`pose_frontend.base.Counters`). After ``max_attempts`` failures in a row (when not 0) the source
raises :class:`SourceUnavailableError`. A run of failed attempts is logged at its 1st, 2nd, 4th,
8th, ... attempt and at least every 10 minutes (:class:`bus.logs.Outage`), and its end when a frame arrives;
so are the losses of a stream over the source's life (a flapping camera), and a reconnection when
its loss or a failed attempt since was logged.

Timestamps are wall-clock seconds: ``time.time()`` when the source starts, advanced by the
monotonic clock, so they rise strictly even if the system clock is stepped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import cv2
import numpy as np

from bus.logs import Outage
from config.frontend import ReconnectConfig, UrlSourceConfig, WebcamSourceConfig
from config.redaction import redact_url
from config.secrets import SecretError, with_password
from pose_frontend.base import Counters, Source, SourceError, SourceUnavailableError, StopFlag

log = logging.getLogger(__name__)

# How often a waiting consumer looks at the stop flag.
_POLL_S = 0.1
_JOIN_TIMEOUT_S = 2.0


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` a live source uses (tests inject fakes through a factory)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[], Capture]


def webcam_capture_factory(config: WebcamSourceConfig) -> CaptureFactory:
    def open_webcam() -> Capture:
        capture = cv2.VideoCapture(config.index)
        for prop, value in (
            (cv2.CAP_PROP_FRAME_WIDTH, config.width),
            (cv2.CAP_PROP_FRAME_HEIGHT, config.height),
            (cv2.CAP_PROP_FPS, config.fps),
        ):
            if value is not None:
                capture.set(prop, value)
        return capture

    return open_webcam


def url_capture_factory(config: UrlSourceConfig) -> CaptureFactory:
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        round(config.reconnect.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        round(config.reconnect.read_timeout_s * 1000),
    ]

    def open_url() -> Capture:
        try:
            url = with_password(config.url, config.password)
        except SecretError as e:  # read at each opening: a fixed file is used at the next restart
            raise SourceError(f"{redact_url(config.url)}: {e}") from None
        return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)

    return open_url


class LiveSource(Source):
    """A camera or stream opened by ``open_capture``; yields ``(wall_clock_s, rgb)``."""

    produces = "image"
    lossless = False

    def __init__(
        self,
        open_capture: CaptureFactory,
        reconnect: ReconnectConfig,
        *,
        name: str,
        stop: StopFlag | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__(stop, counters)
        self.name = redact_url(name)
        self._open_capture = open_capture
        self._reconnect = reconnect
        self._closed = threading.Event()
        self._new_frame = threading.Condition()
        self._latest: tuple[float, np.ndarray] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        wall, mono = time.time(), time.monotonic()
        self._clock = lambda: wall + (time.monotonic() - mono)

    def _frames(self) -> Iterator[tuple[float, np.ndarray]]:
        if self._thread is None:
            self._thread = threading.Thread(target=self._read_loop, name=f"capture {self.name}", daemon=True)
            self._thread.start()
        while not self._stopping():
            with self._new_frame:
                if self._latest is None and self._error is None and self._thread.is_alive():
                    self._new_frame.wait(_POLL_S)
                item, self._latest = self._latest, None
                error = self._error
            if item is not None:
                t, bgr = item
                yield t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            elif error is not None:
                raise error
            elif not self._thread.is_alive():
                return

    def _stopping(self) -> bool:
        return self._closed.is_set() or (self.stop is not None and self.stop.is_set())

    def _wait(self, seconds: float) -> bool:
        """Sleep unless closed or stopped first; True when the reader should end."""
        deadline = time.monotonic() + seconds
        while not self._stopping():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._closed.wait(min(remaining, _POLL_S))
        return True

    def _read_loop(self) -> None:
        """The reader thread: open, read until the capture fails, back off, reopen.

        An attempt succeeds when a frame arrives, not when the capture opens: a stream that opens
        and fails at once backs off like one that does not open.
        """
        capture: Capture | None = None
        delay = self._reconnect.initial_backoff_s
        outage, losses = Outage(), Outage("losses")  # losses: over the source's life, not one outage
        lost = fresh = False
        loss_logged = False  # whether the last loss had a line
        try:
            while not self._stopping():
                if capture is None:
                    capture, fresh = self._try_open(), True
                if capture is not None:
                    ok, bgr = self._read(capture)
                    if ok and bgr is not None:
                        if fresh and lost:
                            self.stats.add("reconnects")
                            # its end, where the loss or a failed attempt since was logged
                            log.log(logging.INFO if loss_logged or outage.failures else logging.DEBUG,
                                    "%s: reconnected after %s", self.name, outage.describe())  # fmt: skip
                        elif fresh and outage.failures:
                            log.info("%s: opened after %s", self.name, outage.describe())
                        if fresh:
                            outage, delay = Outage(), self._reconnect.initial_backoff_s
                            lost = fresh = False
                        self._offer(self._clock(), bgr)
                        continue
                    capture.release()
                    capture = None
                if fresh:
                    self.stats.add("failed_opens")
                    news = outage.failed(self._clock(), time.monotonic())
                    limit = self._reconnect.max_attempts
                    if limit and outage.failures >= limit:
                        raise SourceUnavailableError(
                            f"{self.name}: still unavailable after {outage.failures} attempts to open it"
                        )
                    self._log_failure(outage, news, delay, "cannot open; next attempt in %.1f s",
                                      "still cannot open (%s); next attempt in %.1f s")  # fmt: skip
                else:
                    lost, loss_logged = True, losses.failed(self._clock(), time.monotonic())
                    self._log_failure(losses, loss_logged, delay, "stream lost; reopening in %.1f s",
                                      "stream lost again (%s); reopening in %.1f s")  # fmt: skip
                if self._wait(delay):
                    return
                delay = min(2 * delay, self._reconnect.max_backoff_s)
        except BaseException as e:  # handed to the consumer, which raises it in its own thread
            with self._new_frame:
                self._error = e
                self._new_frame.notify_all()
        finally:
            if capture is not None:
                capture.release()

    def _log_failure(self, run: Outage, news: bool, delay: float, first: str, again: str) -> None:
        """The run's first failure at WARNING (``first`` takes the delay); a later one with the run so
        far (``again`` takes both), at WARNING when :meth:`Outage.failed` found it news, else DEBUG."""
        if run.failures == 1:
            log.warning("%s: " + first, self.name, delay)
        else:
            log.log(
                logging.WARNING if news else logging.DEBUG, "%s: " + again, self.name, run.describe(), delay
            )

    def _read(self, capture: Capture) -> tuple[bool, np.ndarray | None]:
        try:
            return capture.read()
        except cv2.error as e:  # a decoder failing on a broken stream: lost, like a failed read
            log.debug("%s: read failed: %s", self.name, e)
            return False, None

    def _try_open(self) -> Capture | None:
        try:
            capture = self._open_capture()
        except cv2.error as e:
            log.debug("%s: open failed: %s", self.name, e)
            return None
        if capture.isOpened():
            return capture
        capture.release()
        return None

    def _offer(self, t: float, bgr: np.ndarray) -> None:
        with self._new_frame:
            if self._latest is not None:
                self.stats.add("skipped")
            self._latest = (t, bgr)
            self._new_frame.notify_all()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            # A read blocked in the driver or FFmpeg ends by its own timeout; the thread is a daemon.
            self._thread.join(_JOIN_TIMEOUT_S)
