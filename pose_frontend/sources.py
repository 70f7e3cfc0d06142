"""Frame sources: one interface over video files, image folders, skeleton replay and the synthetic
performer (live cameras and URLs are in :mod:`pose_frontend.live`).

A source is iterable and yields ``(timestamp_s, frame)``:

* ``produces == "image"``: ``frame`` is an RGB ``uint8`` image ``(H, W, 3)``;
* ``produces == "skeleton"``: ``frame`` is canonical joints ``(20, 3)`` float32 (NaN = missing),
  or ``(P, 20, 3)`` for a replay of several people, and pose estimation is skipped.

Timestamps come from the source: the container's frame position for videos, ``i / fps`` for image
folders, the recorded times for skeleton files, and the wall clock for live sources. They rise
strictly, also across loops and clip boundaries. A pass (a loop's, a clip's of a replay) is another
stretch of time than the one before it, its first pose nowhere near the last: it starts
:data:`SEAM_S` after the previous one ended, a hole longer than the worker bridges under any config,
so no window spans the seam (a real gap in the stream, as docs/worker.md treats one). A single image
looped is a still, one stretch of time, and a performer with ``starts_at`` a live camera. File
sources can be paced to real time (``realtime``), as a camera would be; a seam is not waited out.

A source given a ``stop`` event (``threading.Event`` or ``multiprocessing.Event``) ends its
iteration as soon as the event is set, including while it waits (pacing, reconnect backoff).
Errors are :class:`SourceError` subclasses with a message that names the file and the problem.
"""

from __future__ import annotations

import itertools
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from bus.messages import MAX_PEOPLE
from clips import CLIP_FILE_SUFFIXES, load_clips
from clips.files import UNREADABLE_NUMPY
from config.frontend import (
    ImagesSourceConfig,
    SkeletonSourceConfig,
    SourceConfig,
    SyntheticSourceConfig,
    UrlSourceConfig,
    VideoSourceConfig,
    WebcamSourceConfig,
)
from config.worker import MAX_BRIDGED_GAP_S
from models.skeleton import to_canonical
from pose_frontend.base import (
    CorruptVideoError,
    Counters,
    Source,
    SourceError,
    SourceNotFoundError,
    StopFlag,
    wait_or_stop,
)
from pose_frontend.live import CaptureFactory, LiveSource, url_capture_factory, webcam_capture_factory
from pose_frontend.rate import RateGate
from pose_frontend.synthetic import SyntheticPerformer

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
# A video may end this fraction of its container's frame count (plus one frame) early before it
# counts as truncated: some containers only estimate the count from the duration.
_SHORT_VIDEO_SLACK = 0.02
# Real-time pacing does not try to catch up more than this far behind; beyond it the clock restarts.
_MAX_PACING_LAG_S = 0.5
# Source time between one pass's last frame and the next one's first, on top of a frame step.
SEAM_S = MAX_BRIDGED_GAP_S


def chain_passes(
    passes: Iterable[Iterable[tuple[float, np.ndarray]]], step_s: float, seam_s: float = 0.0
) -> Iterator[tuple[float, np.ndarray]]:
    """Play ``passes`` one after another with rising timestamps: every pass after the first is
    shifted to start ``step_s + seam_s`` after the previous pass's last frame."""
    shift, last = 0.0, None
    for frames in passes:
        first = True
        for t, frame in frames:
            if first and last is not None:
                shift = last + step_s + seam_s - t
            first = False
            last = t + shift
            yield last, frame


def paced(
    frames: Iterable[tuple[float, np.ndarray]], stop: StopFlag | None, seam_s: float = 0.0
) -> Iterator[tuple[float, np.ndarray]]:
    """Hold each frame back until as much wall time has passed as source time (a camera's pace).
    A step of ``seam_s`` or more (> 0: a seam between passes) is not waited out: the next pass
    follows at once."""
    origin = None  # wall-clock time of source time 0
    last = -np.inf
    for t, frame in frames:
        now = time.monotonic()
        seam = 0 < seam_s <= t - last
        if origin is None or seam or now - (origin + t) > _MAX_PACING_LAG_S:
            origin = now - t  # first frame, or fell far behind: do not burst to catch up
        last = t
        if wait_or_stop(stop, origin + t - now):
            return
        yield t, frame


def _repeated(
    one_pass: Callable[[], Iterable[tuple[float, np.ndarray]]], loop: bool
) -> Iterator[Iterable[tuple[float, np.ndarray]]]:
    yield one_pass()
    while loop:
        yield one_pass()


def _require_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise SourceNotFoundError(f"{what} not found: {path}")
    if not path.is_file():
        raise SourceNotFoundError(f"{what} is not a file: {path}")
    return path


class _PassSource(Source):
    """A finite recording played once or looped, optionally at real-time pace."""

    def __init__(
        self, *, loop: bool, realtime: bool, stop: StopFlag | None, counters: Counters | None
    ) -> None:
        super().__init__(stop, counters)
        self.loop = loop
        self.realtime = realtime
        self._resume_after: float | None = None

    @abstractmethod
    def _passes(self) -> Iterator[Iterable[tuple[float, np.ndarray]]]:
        """One iterable per pass (the whole recording once, or one clip)."""

    @abstractmethod
    def _step_s(self) -> float:
        """Nominal frame interval: the gap between one pass's end and the next pass's start."""

    def _seam_s(self) -> float:
        """Source time added between passes: each is another stretch of time (module docstring)."""
        return SEAM_S

    def resume_after(self, timestamp: float) -> bool:
        self._resume_after = timestamp
        return True

    def _frames(self) -> Iterator[tuple[float, np.ndarray]]:
        frames = chain_passes(self._passes(), self._step_s(), self._seam_s())
        if self._resume_after is not None:
            frames = self._resumed(frames, self._resume_after)
        return paced(frames, self.stop, self._seam_s()) if self.realtime else frames

    def _resumed(
        self, frames: Iterator[tuple[float, np.ndarray]], after: float
    ) -> Iterator[tuple[float, np.ndarray]]:
        """A recording played once goes on after the frame published last; a loop starts a new pass
        after it, a seam apart (catching up with where it was could mean decoding hours of passes)."""
        if self.loop:
            shift = None
            for t, frame in frames:
                shift = after + self._step_s() + self._seam_s() - t if shift is None else shift
                yield t + shift, frame
            return
        for t, frame in frames:
            if t > after:
                yield t, frame
            else:
                self.stats.add("skipped")


class VideoFileSource(_PassSource):
    """A video file through OpenCV/FFmpeg; BGR frames are converted to RGB.

    Raises :class:`SourceNotFoundError` for a missing file and :class:`CorruptVideoError` for one
    that does not open, yields no frame, or ends well before its container's frame count.
    """

    produces = "image"
    thins_before_decoding = True

    def __init__(
        self,
        path: str | Path,
        *,
        loop: bool = False,
        realtime: bool = False,
        stop: StopFlag | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__(loop=loop, realtime=realtime, stop=stop, counters=counters)
        self.path = _require_file(Path(path), "video file")
        if self.path.stat().st_size == 0:  # one still being copied, say: no codec is at fault
            raise CorruptVideoError(f"video file is empty (0 bytes): {self.path}")
        capture = self._open()
        try:
            self.fps = capture.get(cv2.CAP_PROP_FPS)
            self.frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            capture.release()
        if not self.fps > 0:
            self.fps = 30.0  # FFmpeg reports 0 for some streams; timestamps still come from the container

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise CorruptVideoError(f"cannot open video {self.path}: not a readable video file or codec")
        return capture

    def _step_s(self) -> float:
        return 1.0 / self.fps

    def _passes(self) -> Iterator[Iterable[tuple[float, np.ndarray]]]:
        return _repeated(self._one_pass, self.loop)

    def _one_pass(self) -> Iterator[tuple[float, np.ndarray]]:
        _require_file(self.path, "video file")  # a loop's file may have been removed since
        capture = self._open()
        gate = RateGate(self.rate.fps)  # each pass starts at its own time 0
        n, last_t = 0, -np.inf
        try:
            while capture.grab():
                # POS_MSEC is the position of the frame just grabbed; fall back to the nominal frame
                # interval where a container gives no usable position.
                t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if n > 0 and not t > last_t:
                    t = last_t + 1.0 / self.fps
                last_t = t
                n += 1
                if not gate.take(t):  # between two pose estimates: never converted to an image
                    self.stats.add("below_rate")
                    continue
                ok, bgr = capture.retrieve()
                if not ok or bgr is None:
                    break
                yield t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()
        if n == 0:
            raise CorruptVideoError(
                f"no frame of {self.path} could be decoded (corrupt or unsupported video)"
            )
        if self.frame_count > 0 and n < self.frame_count * (1.0 - _SHORT_VIDEO_SLACK) - 1:
            raise CorruptVideoError(
                f"{self.path} ended after {n} of its {self.frame_count} frames (truncated or corrupt)"
            )


class ImageFolderSource(_PassSource):
    """Images in file-name order (or a single image file), stamped ``i / fps``.

    An image that cannot be read is skipped and counted as ``skipped``; a pass in which no
    image can be read raises :class:`SourceError`.
    """

    produces = "image"

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float = 10.0,
        pattern: str = "*",
        loop: bool = False,
        realtime: bool = False,
        stop: StopFlag | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__(loop=loop, realtime=realtime, stop=stop, counters=counters)
        folder = Path(path)
        if not folder.exists():
            raise SourceNotFoundError(f"image folder or file not found: {folder}")
        if folder.is_dir():
            files = [p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        else:
            files = [folder]
        if not files:
            raise SourceNotFoundError(f"no image files matching {pattern!r} in {folder}")
        self.files = sorted(files)
        self.fps = fps

    def _step_s(self) -> float:
        return 1.0 / self.fps

    def _seam_s(self) -> float:
        return SEAM_S if len(self.files) > 1 else 0.0  # one image looped: a still camera

    def _passes(self) -> Iterator[Iterable[tuple[float, np.ndarray]]]:
        return _repeated(self._one_pass, self.loop)

    def _one_pass(self) -> Iterator[tuple[float, np.ndarray]]:
        delivered = 0
        for i, file in enumerate(self.files):
            bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if bgr is None:
                self.stats.add("skipped")
                log.warning("skipping unreadable image %s", file)
                continue
            delivered += 1
            yield i / self.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if delivered == 0:
            raise SourceError(f"none of the {len(self.files)} images in {self.files[0].parent} could be read")


class SkeletonReplaySource(_PassSource):
    """Recorded canonical skeletons: a clip-set ``.npz`` (clips in order, or the named ``clips``) or
    a ``.npy`` of shape ``(T, N, 3)`` in ``layout`` at ``fps``. A frame is ``(20, 3)``, ``(20, 4)``
    with each joint's visibility where the file gives MediaPipe's, or ``(P, 20, 3)`` for P people."""

    produces = "skeleton"

    def __init__(
        self,
        path: str | Path,
        *,
        layout: str = "kinect_v1",
        fps: float = 30.0,
        clips: Iterable[str] = (),
        loop: bool = False,
        realtime: bool = False,
        stop: StopFlag | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__(loop=loop, realtime=realtime, stop=stop, counters=counters)
        file = _require_file(Path(path), "skeleton file")
        if file.suffix.lower() not in CLIP_FILE_SUFFIXES:
            raise SourceError(f"{file}: a skeleton file must be a clip-set .npz or a .npy")
        self.clips = [
            (times, frames) for times, frames in _load_replay(file, list(clips), layout, fps) if len(times)
        ]
        if not self.clips:
            raise SourceError(f"{file}: no clip has a frame")
        steps = np.concatenate([np.diff(times) for times, _ in self.clips])
        steps = steps[steps > 0]
        self._step = float(np.median(steps)) if steps.size else 1.0 / fps

    def _step_s(self) -> float:
        return self._step

    def _passes(self) -> Iterator[Iterable[tuple[float, np.ndarray]]]:
        clips = itertools.cycle(self.clips) if self.loop else iter(self.clips)
        for times, frames in clips:
            yield zip(times.tolist(), frames, strict=True)


def _load_replay(
    file: Path, names: list[str], layout: str, fps: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(times, frames) of the clips to replay: the named ones of a clip-set file, in that order, or
    all of them; a .npy array is one clip, ``(T, P, N, 3)`` one of P people (frames ``(P, 20, 3)``).
    A MediaPipe clip's frames carry each joint's visibility (``(20, 4)``) and are all sent: the
    worker judges them by its own ``worker.min_visibility``, wherever it runs."""
    if file.suffix == ".npy" and not names:
        try:
            raw = np.load(file, allow_pickle=False)
            if raw.ndim == 4 and raw.shape[1] > MAX_PEOPLE:
                # every frame would fail on the bus: refused here, by `haad config validate` too
                raise SourceError(
                    f"{file} replays {raw.shape[1]} people; a frame carries at most {MAX_PEOPLE}"
                )
            if raw.ndim == 4 and len(raw):
                joints = to_canonical(raw, layout)  # type: ignore[arg-type]
                return [(np.arange(len(joints)) / fps, joints.astype(np.float32))]
        except UNREADABLE_NUMPY as e:
            raise SourceError(f"cannot replay {file}: {e}") from e
    try:
        # 0: no frame is less visible, so none is left out here (the worker's rule, not a copy of it)
        loaded = load_clips(file, layout=layout, fps=fps, min_visibility=0.0)  # type: ignore[arg-type]
    except (OSError, ValueError) as e:
        raise SourceError(f"cannot replay {file}: {e}") from e
    by_name = {c.name: c for c in loaded}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SourceError(f"{file} has no clips named {missing}; it has {sorted(by_name)}")
    chosen = [by_name[n] for n in names] if names else loaded
    return [(c.times.astype(np.float64), _with_visibility(c.joints, c.visibility)) for c in chosen]


def _with_visibility(joints: np.ndarray, visibility: np.ndarray | None) -> np.ndarray:
    """``(T, 20, 3)`` joints, with ``(T, 20)`` visibility as a fourth column when the file gave it."""
    if visibility is None:
        return joints.astype(np.float32)
    return np.concatenate([joints, visibility[..., None]], axis=-1).astype(np.float32)


class SyntheticSource(_PassSource):
    """The procedural performer (:mod:`pose_frontend.synthetic`); a loop performs the script again
    with the next seed, so no two passes are identical. With ``starts_at`` (wall-clock seconds) it
    behaves as a live camera: timestamps are wall clock, and a source opened after that time joins
    the performance where it is by now."""

    produces = "skeleton"

    def __init__(
        self,
        script: list[tuple[str, float]],
        *,
        fps: float = 30.0,
        seed: int = 0,
        noise_m: float = 0.002,
        loop: bool = False,
        realtime: bool = False,
        starts_at: float | None = None,
        stop: StopFlag | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__(loop=loop, realtime=realtime, stop=stop, counters=counters)
        self.performer = SyntheticPerformer(script, fps=fps, seed=seed, noise_m=noise_m)  # checks the script
        self.fps = fps
        self.starts_at = starts_at

    def _step_s(self) -> float:
        return 1.0 / self.fps

    def _seam_s(self) -> float:
        return 0.0 if self.starts_at is not None else SEAM_S  # a live camera's clock never skips

    def resume_after(self, timestamp: float) -> bool:
        # With starts_at it is a live camera: it joins the performance where it is by now.
        return self.starts_at is None and super().resume_after(timestamp)

    def _passes(self) -> Iterator[Iterable[tuple[float, np.ndarray]]]:
        p = self.performer
        if self.starts_at is None:
            yield p
        else:
            start, missed = self.starts_at, time.time() - self.starts_at
            # Opened before the performance starts: a camera sends no frame stamped in the future.
            if missed < 0 and wait_or_stop(self.stop, -missed):
                return
            yield ((start + t, joints) for t, joints in p if t >= missed)
        for seed in itertools.count(p.seed + 1) if self.loop else ():
            yield SyntheticPerformer(p.script, fps=p.fps, seed=seed, noise_m=p.noise_m)


def open_source(
    config: SourceConfig,
    *,
    stop: StopFlag | None = None,
    counters: Counters | None = None,
    capture_factory: CaptureFactory | None = None,
    pose_fps: float | None = None,
) -> Source:
    """The source ``config`` describes, counting into ``counters`` (new ones when None); an image
    source delivers at most ``pose_fps`` frames per second of source time (None: all).

    ``capture_factory`` replaces the OpenCV capture of a webcam or URL source (for tests: no camera
    exists on CI machines).
    """
    source = _make_source(config, stop=stop, counters=counters, capture_factory=capture_factory)
    if source.produces == "image":
        source.rate = RateGate(pose_fps)
    return source


def _make_source(
    config: SourceConfig,
    *,
    stop: StopFlag | None,
    counters: Counters | None,
    capture_factory: CaptureFactory | None,
) -> Source:
    match config:
        case VideoSourceConfig():
            return VideoFileSource(
                config.path, loop=config.loop, realtime=config.realtime, stop=stop, counters=counters
            )
        case ImagesSourceConfig():
            return ImageFolderSource(
                config.path,
                fps=config.fps,
                pattern=config.pattern,
                loop=config.loop,
                realtime=config.realtime,
                stop=stop,
                counters=counters,
            )
        case SkeletonSourceConfig():
            return SkeletonReplaySource(
                config.path,
                layout=config.layout,
                fps=config.fps,
                clips=config.clips,
                loop=config.loop,
                realtime=config.realtime,
                stop=stop,
                counters=counters,
            )
        case SyntheticSourceConfig():
            return SyntheticSource(
                [(s.motion, s.seconds) for s in config.script],
                fps=config.fps,
                seed=config.seed,
                noise_m=config.noise_m,
                loop=config.loop,
                realtime=config.realtime,
                starts_at=config.starts_at,
                stop=stop,
                counters=counters,
            )
        case WebcamSourceConfig():
            factory = capture_factory or webcam_capture_factory(config)
            return LiveSource(
                factory, config.reconnect, name=f"webcam {config.index}", stop=stop, counters=counters
            )
        case UrlSourceConfig():
            factory = capture_factory or url_capture_factory(config)
            return LiveSource(factory, config.reconnect, name=config.url, stop=stop, counters=counters)
    raise TypeError(f"unknown source config {type(config).__name__}")
