"""Structured logging for every haad process: one JSON object per line (or plain text). A URL goes
into a log line through :func:`config.redaction.redact_url` (the config's errors use it too)."""

from __future__ import annotations

import faulthandler
import io
import json
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import BinaryIO, TextIO

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Longest silence while a failure goes on (a source unreachable, a native line repeated): an
# operator reading the log later still finds it.
_REMIND_S = 600.0


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "process", "pid", "msg", ...extra fields}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "pid": os.getpid(),
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str | int = "INFO", fmt: str = "json") -> None:
    """Replace the root logger's handlers with one stderr handler: ``json`` lines or ``text``.

    Whatever else writes to this process's stderr (MediaPipe's and TensorFlow Lite's native logging,
    warnings, a traceback) is captured. With ``json`` it is re-emitted as JSON lines of the logger
    ``native``, so the log stays one JSON object per line; with ``text`` it is passed on as it is.
    Either way known boilerplate (:func:`native_level` DEBUG) is left out unless ``native`` logs DEBUG,
    and so are the repeats of an OpenCV or FFmpeg line (a camera's retries, a damaged video's decoder)
    or of MediaPipe raising a graph's queue bound but the 1st, 2nd, 4th, ... (:class:`Outage`), which
    say how often it came since when. :func:`wait_for_native_stderr` waits for the last captured line.
    """
    global _raw_native
    _raw_native = fmt != "json"
    handler = logging.StreamHandler(_capture_native_stderr())
    handler.lock = _WRITE_LOCK  # whole lines from the handler and the forwarder, never mixed
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at every start are not news


_native: TextIO | None = None  # the real stderr, once fd 2 is captured
_forwarder: threading.Thread | None = None  # the thread logging the captured lines
_raw_native = False  # text logging: captured lines are passed on as they are, not logged
_WRITE_LOCK = threading.RLock()
_NATIVE_LEVELS = {"W": logging.WARNING, "E": logging.ERROR, "F": logging.ERROR}  # by first letter
# Native lines MediaPipe and TensorFlow Lite print at every start of pose estimation that report
# nothing wrong: logged at DEBUG, and kept off a CLI's terminal. Any other native line keeps its level.
_HARMLESS_NATIVE = re.compile(
    "|".join(
        (
            r"All log messages before absl::InitializeLog\(\) is called",  # absl's note on where logs go
            r"Created TensorFlow Lite XNNPACK delegate for CPU",  # the CPU delegate in use, as meant
            # The pose models have several signatures; feedback tensors are something they never use.
            r"inference_feedback_manager\.cc:\d+\] Feedback manager requires a model with a single signature",
            # The pose graph squares its region of interest, the case this projection does support.
            r"landmark_projection_calculator\.cc:\d+\] Using NORM_RECT without IMAGE_DIMENSIONS",
            # OpenCV after any capture that did not open: the source's own line says so, and why.
            r"VIDEOIO\(FFMPEG\): backend is generally available but can't be used to capture by name",
        )
    )
)
# OpenCV's own lines ("[ WARN:0@1.234] global cap.cpp:215 ...") and FFmpeg's ("[tcp @ 0x55d0...] ..."):
# a camera's every retry says them again, for as long as it is down.
_VIDEO_NATIVE = re.compile(r"\[(?: ?[A-Z]+:\d+@[\d.]+\] global |[\w,-]+ @ 0x[0-9a-f]+\] )")
# FFmpeg's prefix on a line of its own: the message began with a newline (msmpeg4's "\nerror while
# decoding block: ..."), and its text is on the next line.
_FFMPEG_PREFIX_ALONE = re.compile(r"\[[\w,-]+ @ 0x[0-9a-f]+\]$")
# MediaPipe raising a queue's bound in a graph that waits on an input (the same line at every raise).
_QUEUE_RAISED = re.compile(r"calculator_graph\.cc:\d+\] Resolved a deadlock by increasing max_queue_size")
# What differs between two repeats: an address, OpenCV's clock, a decoder's macroblock and counts (so a
# lossy stream's decoder errors are one line repeated; alike lines of two cameras of a process, too).
_VARYING = re.compile(r"0x[0-9a-f]+|\d+")
# A line that already says how often it came (a child's, passed on by a text log): counted there.
_COUNTED = re.compile(r" \(\d+ times since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$")
_REPEATING_KEPT = 256  # distinct lines whose repeats are followed; the longest unseen is forgotten
_repeating_lines: OrderedDict[str, Outage] = OrderedDict()  # the stderr forwarding thread's alone


def _is_repeating(text: str) -> bool:
    """A native line said again for as long as its cause lasts, not yet counted by a child."""
    return bool(_VIDEO_NATIVE.match(text) or _QUEUE_RAISED.search(text)) and not _COUNTED.search(text)


def _capture_native_stderr() -> TextIO:
    """Point fd 2 at a pipe whose lines a thread logs; return a stream on the real stderr (once per
    process). Native log lines start with their level (glog: ``W0000 ...``, TFLite: ``INFO: ...``)."""
    global _native, _forwarder
    if _native is not None:
        return _native
    _native = out = os.fdopen(os.dup(2), "w", buffering=1)
    if faulthandler.is_enabled():
        faulthandler.enable(file=_native)  # a crash report must not wait for the reader thread

    def forward(raw: BinaryIO) -> None:
        native = logging.getLogger("native")
        with io.TextIOWrapper(raw, errors="replace") as lines:
            for text in _tracebacks_joined(_ffmpeg_lines_joined(line.rstrip() for line in lines)):
                level = native_level(text)
                if level != logging.DEBUG and _is_repeating(text):
                    level, text = _repeated(text, level)
                # A child process's own log line, or any line of a text log but boilerplate (a
                # traceback's lines stay together and unprefixed, whatever level): passed on as is.
                shown = level != logging.DEBUG or native.isEnabledFor(logging.DEBUG)
                if _is_json_object(text) or (_raw_native and shown):
                    with _WRITE_LOCK:
                        out.write(text + "\n")
                elif text and not _raw_native:
                    native.log(logging.ERROR if text.startswith(_TRACEBACK_STARTS) else level, text)

    _forwarder = _fd2_into(forward, "haad-native-stderr")
    return _native


def wait_for_native_stderr(timeout_s: float) -> None:
    """Wait up to ``timeout_s`` until every line captured from fd 2 (:func:`setup_logging`) is
    written out. Its thread reads to the end once no one writes to the capture's pipe any more:
    call it after pointing fd 2 elsewhere (or closing it), children that inherited it ended."""
    if _forwarder is not None:
        _forwarder.join(timeout_s)


def _ffmpeg_lines_joined(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` with an FFmpeg prefix alone on its line joined to the text on the next one."""
    prefix = None
    for line in lines:
        if prefix is not None:
            yield f"{prefix} {line}"
            prefix = None
        elif _FFMPEG_PREFIX_ALONE.match(line):
            prefix = line
        else:
            yield line
    if prefix is not None:
        yield prefix


def _repeated(text: str, level: int) -> tuple[int, str]:
    """A native line said again and again (:func:`_is_repeating`) and the level to log it at: its
    own when :class:`Outage` finds this repeat news (with how many since when), else DEBUG."""
    key = _VARYING.sub("#", text)
    run = _repeating_lines.pop(key, None) or Outage("times")
    _repeating_lines[key] = run  # the most recent last
    if len(_repeating_lines) > _REPEATING_KEPT:
        _repeating_lines.popitem(last=False)
    if not run.failed(time.time(), time.monotonic()):
        return logging.DEBUG, text
    return level, text if run.failures == 1 else f"{text} ({run.describe()})"


def _fd2_into(forward: Callable[[BinaryIO], None], name: str) -> threading.Thread:
    """Point fd 2 at a pipe, and start a thread ``name`` handing its read end to ``forward``, which
    reads it until every writer (this process, children that inherited fd 2) has closed it."""
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=lambda: forward(os.fdopen(read_fd, "rb")), name=name, daemon=True)
    thread.start()
    return thread


# A Python traceback printed to stderr (a child dying before its logging is set up, an exception in a
# thread): its lines are one error, whatever level the log keeps; line by line they read as INFO.
_TRACEBACK = "Traceback (most recent call last):"
_TRACEBACK_STARTS = (
    _TRACEBACK,
    "Exception in thread ",
    "During handling of the above exception",  # a chained exception's traceback follows
    "The above exception was the direct cause",
)


def _tracebacks_joined(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` with each Python traceback among them joined into one, ended by its exception's line
    (yielded at once: the process may print nothing after it)."""
    held: list[str] = []
    for line in lines:
        if not held:
            if line.startswith(_TRACEBACK_STARTS):
                held = [line]
            else:
                yield line
        elif not line or line[:1].isspace() or line.startswith(_TRACEBACK):
            held.append(line)
        else:
            yield "\n".join([*held, line])
            held = []
    if held:
        yield "\n".join(held)


class Outage:
    """A run of failures (attempts to open a source, losses of a stream, a native line said again),
    and which of them deserve a log line: the 1st, 2nd, 4th, 8th, ... (a retry's backoff doubles too,
    so early lines come close together and later ones further apart) and any that comes
    ``_REMIND_S`` or more after the last line. ``what`` names the failures in :meth:`describe`."""

    def __init__(self, what: str = "failed attempts") -> None:
        self.what = what
        self.failures = 0
        self.since = 0.0  # wall-clock time of the run's first failure
        self._logged_at = 0.0  # monotonic

    def failed(self, wall: float, mono: float) -> bool:
        """Count one failure at ``wall``/``mono`` seconds; True when it is worth a log line."""
        self.failures += 1
        if self.failures == 1:
            self.since = wall
        if self.failures & (self.failures - 1) == 0 or mono - self._logged_at >= _REMIND_S:
            self._logged_at = mono
            return True
        return False

    def describe(self) -> str:
        if not self.failures:
            return f"0 {self.what}"
        return (
            f"{self.failures} {self.what} since {datetime.fromtimestamp(self.since, UTC):%Y-%m-%dT%H:%M:%SZ}"
        )


def native_level(line: str) -> int:
    """The level of a native log line: DEBUG for known boilerplate, else its first letter's."""
    if _HARMLESS_NATIVE.search(line):
        return logging.DEBUG
    return _NATIVE_LEVELS.get(line[:1], logging.INFO)


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Within, native boilerplate (:func:`native_level` DEBUG) written to fd 2 by this process or its
    children is dropped; every other line reaches stderr as it is. For a CLI, whose terminal is its
    user's, not a log."""
    sys.stderr.flush()
    real = os.dup(2)

    def forward(lines: BinaryIO) -> None:
        with lines:
            for line in lines:
                if native_level(line.decode(errors="replace")) != logging.DEBUG:
                    os.write(real, line)

    thread = _fd2_into(forward, "haad-quiet-stderr")
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)  # the pipe's last writer closes (children holding it end with us): EOF
        thread.join(timeout=5)
        os.close(real)


def _is_json_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
