"""What every frame source shares: the interface, its counters, the stop flag and the error types.

See :mod:`pose_frontend.sources` for the file sources and :mod:`pose_frontend.live` for cameras
and URLs.
"""

from __future__ import annotations

import multiprocessing
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, MutableSequence
from types import TracebackType
from typing import ClassVar, Literal, Protocol, Self

import numpy as np

from pose_frontend.rate import RateGate

FrameKind = Literal["image", "skeleton"]


class SourceError(RuntimeError):
    """A source that cannot deliver frames: missing, unreadable or corrupt input, or a live source
    that gave up reconnecting."""


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The file or folder a source names does not exist (or holds no usable file)."""


class CorruptVideoError(SourceError):
    """A video file that cannot be opened or decoded, or that ends early (truncated)."""


class SourceUnavailableError(SourceError):
    """A live source that stayed unreachable for ``reconnect.max_attempts`` attempts in a row."""


class StopFlag(Protocol):
    """``threading.Event`` and ``multiprocessing.Event`` both fit."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def wait_or_stop(stop: StopFlag | None, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True when stopped."""
    if stop is None:
        time.sleep(max(0.0, seconds))
        return False
    return stop.wait(max(0.0, seconds))


COUNTERS: tuple[str, ...] = (
    "frames",
    "published",
    "dropped",
    "no_person",
    "errors",
    "reconnects",
    "failed_opens",
    "skipped",
    "below_rate",
    "refused",
    "snapshot_failed",
)
_INDEX = {name: i for i, name in enumerate(COUNTERS)}


class Counters:
    """A stream's named int counters, in a list or in shared memory a parent process reads.

    Sources count ``frames`` (delivered), ``reconnects`` (a live source reopened after a loss),
    ``failed_opens`` (attempts that failed), ``below_rate`` (frames between two pose estimates at the
    stream's ``pose_fps``, never converted to an image where the source can) and ``skipped`` (frames not delivered: replaced by a
    newer live frame, an unreadable image, or published before a restart); the frontend loop counts the rest
    (pose_frontend/process.py). Each counter has one writing thread.
    """

    def __init__(self, values: MutableSequence[int] | None = None) -> None:
        self._values = values if values is not None else [0] * len(COUNTERS)

    @classmethod
    def shared(cls) -> Counters:
        """Counters in shared memory, for a child process (pass them as a Process argument)."""
        return cls(multiprocessing.RawArray("q", len(COUNTERS)))

    def add(self, name: str, n: int = 1) -> None:
        self._values[_INDEX[name]] += n

    def __getitem__(self, name: str) -> int:
        return int(self._values[_INDEX[name]])

    def snapshot(self) -> dict[str, int]:
        return {name: int(self._values[i]) for i, name in enumerate(COUNTERS)}


class Progress:
    """How far a stream's frontend got: the ``seq`` and timestamp of the last frame it sent, marked
    just before sending (killed in between, a restart loses that frame rather than send it twice).

    It lives in memory the daemon owns (:meth:`shared`) and hands to every process it starts for the
    stream, so a frontend restarted after a crash continues a recording after that frame instead of
    playing it again from its start: frames already published would be scored twice and their
    abnormal actions alerted twice. A live camera just continues; its ``seq`` starts again.
    ``track_id``, the highest person id given, lets a restarted multi-person frontend give new
    people new ids: reused, an id would continue another person's windows and episodes.
    ``people_since``, when it was made (wall clock), goes with every frame: ids count from 1 again
    only with a new ``Progress`` (a new daemon or ``haad frontend run``), and the worker closes
    rather than continues the alerts of tracked people from before it (their ids name others now).
    """

    def __init__(self, values: MutableSequence[float] | None = None) -> None:
        self._values = values if values is not None else [0.0, -np.inf, 0.0, time.time()]

    @classmethod
    def shared(cls) -> Progress:
        values = multiprocessing.RawArray("d", 4)
        values[1], values[3] = -np.inf, time.time()
        return cls(values)

    @property
    def seq(self) -> int:
        return int(self._values[0])

    @property
    def timestamp(self) -> float:
        return float(self._values[1])

    @property
    def track_id(self) -> int:
        return int(self._values[2])

    @property
    def people_since(self) -> float:
        return float(self._values[3])

    def mark(self, seq: int, timestamp: float, track_id: int = 0) -> None:
        self._values[2] = max(self._values[2], track_id)
        self._values[1] = timestamp
        self._values[0] = seq


class Source(ABC):
    """Iterable of ``(timestamp_s, frame)``; see the module docstring. Close it when done."""

    produces: ClassVar[FrameKind]
    # A file can wait for room on the bus, so none of its frames is lost; a live camera cannot (a
    # frame not sent now is stale), so its frames are dropped, and counted, when the bus is full.
    lossless: ClassVar[bool] = True
    # Whether ``_frames`` applies ``rate`` itself, before decoding (video files: grab without retrieve).
    thins_before_decoding: ClassVar[bool] = False

    def __init__(self, stop: StopFlag | None = None, counters: Counters | None = None) -> None:
        self.stop = stop
        self.stats = counters if counters is not None else Counters()
        self.rate = RateGate(None)  # every frame; open_source sets the stream's pose_fps

    @abstractmethod
    def _frames(self) -> Iterator[tuple[float, np.ndarray]]: ...

    def resume_after(self, timestamp: float) -> bool:  # noqa: ARG002 (a live source has nothing to resume)
        """Continue after ``timestamp``, a frame an earlier run of this stream published (call before
        iterating); whether the source does. A live source goes on from now and returns False."""
        return False

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for item in self._frames():
            if self.stop is not None and self.stop.is_set():
                return
            if not self.thins_before_decoding and not self.rate.take(item[0]):
                self.stats.add("below_rate")
                continue
            self.stats.add("frames")
            yield item

    def close(self) -> None:  # noqa: B027 (optional: file sources hold nothing between passes)
        """Release what the source holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
