"""The frontend's ring of recent frames, for the pictures an alert keeps (``snapshots`` per stream).

Every frame, at most ``FPS`` a second, is downscaled to ``WIDTH`` px with every person's box drawn and
written as a JPEG named by its source time in milliseconds into the stream's ring folder
(``state_dir/snapshots/ring/<stream>/``); frames older than ``SECONDS`` (source time) go. The
worker copies the frames around each alert out of it (:mod:`edge.snapshots`). Frames stay on this
host: only the review server reads them. A frame that cannot be written is counted
(``snapshot_failed``), never fatal; the folder is tried again every ``RETRY_S``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from bus.messages import Box
from pose_frontend.base import Counters

log = logging.getLogger(__name__)

WIDTH = 320  # px of a kept frame
FPS = 4.0  # frames kept per second of source time, at most
SECONDS = 120.0  # how far back the ring reaches (source seconds): the longest wait for the worker
QUALITY = 70  # JPEG quality
RETRY_S = 10.0  # source seconds between tries of a folder that cannot be written


def landmark_box(landmarks_px: np.ndarray | None, width: int, height: int) -> Box | None:
    """The box around one person's (N, 2+) image landmarks in pixels, as fractions of a ``width`` x
    ``height`` frame; None when there are none (nobody detected, or every landmark missing)."""
    if landmarks_px is None:
        return None
    xy = landmarks_px[:, :2][np.isfinite(landmarks_px[:, :2]).all(axis=1)]
    if not len(xy):
        return None
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return float(x0 / width), float(y0 / height), float(x1 / width), float(y1 / height)


def frame_name(t: float) -> str:
    return f"{max(0, round(t * 1000)):012d}.jpg"


def frame_time(name: str) -> float:
    return int(name.removesuffix(".jpg")) / 1000.0


class FrameRing:
    def __init__(
        self, folder: Path, continues_after: float | None = None, counters: Counters | None = None
    ) -> None:
        """``continues_after``: the last frame time an earlier process of this stream sent, when this
        one continues its clock (a restart by the same daemon); its frames up to then stay, as the
        worker may still copy them for an alert open across the restart. None: a new clock, whose
        frames a previous run's would be mistaken for, so the folder starts empty. ``counters``:
        the stream's, where each frame not kept counts as ``snapshot_failed``.

        A folder that cannot be made or written (a full disk, a file in its place, no permission)
        never stops the stream: pictures are secondary to its skeletons. Its frames are counted in
        ``failures``, the reason logged as one ERROR, and the folder tried again every ``RETRY_S``."""
        self.folder = folder
        self.files: deque[tuple[float, Path]] = deque()
        self.failures = 0
        self.counters = counters
        self._continues_after = continues_after
        self._opened = False
        self._last_t = -np.inf  # the last frame tried, kept or not (FPS)
        self._retry_at: float | None = None  # source time of the next try while the folder fails
        try:
            self._open()
        except OSError as e:
            self._failed(-np.inf, e)

    def _open(self) -> None:
        """Make the folder (again: it may have been removed meanwhile); the first time, clear or
        adopt what an earlier run left there."""
        if not self._opened and self._continues_after is None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._opened and self._continues_after is not None:
            self._adopt(self._continues_after)
        self._opened = True

    def _adopt(self, until: float) -> None:
        last = frame_name(until)  # names, zero-padded, sort as their times
        self.files.clear()  # a try again after a failure part way
        for path in sorted(self.folder.iterdir()):
            if path.suffix == ".jpg" and path.stem.isdigit() and path.name <= last:
                self.files.append((frame_time(path.name), path))
            else:  # half written when the process died, or never sent: this run writes it again
                path.unlink(missing_ok=True)

    def add(self, t: float, rgb: np.ndarray, boxes: Sequence[Box | None]) -> None:
        """Keep frame ``rgb`` (H, W, 3 uint8) taken at source time ``t`` with every person's box
        (fractions of the frame, ``bus.messages.Box``; None: a person without one) drawn."""
        if t - self._last_t < 1.0 / FPS:
            return
        self._last_t = t
        if self._retry_at is not None and t < self._retry_at:
            self._count()  # the folder failed a moment ago: not tried at every frame
            return
        try:
            if self._retry_at is not None or not self._opened:
                self._open()
            self._write(t, rgb, boxes)
            while self.files and self.files[0][0] < t - SECONDS:
                self.files[0][1].unlink(missing_ok=True)
                self.files.popleft()
        except (OSError, cv2.error) as e:
            self._failed(t, e)
            return
        if self._retry_at is not None:
            self._retry_at = None
            log.warning("snapshot ring %s takes pictures again (%d frames not kept so far)", self.folder,
                        self.failures)  # fmt: skip

    def _count(self) -> None:
        self.failures += 1
        if self.counters is not None:
            self.counters.add("snapshot_failed")

    def _failed(self, t: float, e: OSError | cv2.error) -> None:
        if self._retry_at is None:  # once per outage: the camera goes on alerting meanwhile
            log.error("snapshot ring %s cannot keep pictures: %s; the stream goes on without them, "
                      "trying again every %.0f s", self.folder, e, RETRY_S)  # fmt: skip
        self._retry_at = t + RETRY_S
        if t > -np.inf:  # a frame, not the folder made at the start
            self._count()

    def _write(self, t: float, rgb: np.ndarray, boxes: Sequence[Box | None]) -> None:
        scale = WIDTH / rgb.shape[1]
        small = cv2.resize(rgb, (WIDTH, max(1, round(rgb.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        h, w = bgr.shape[:2]
        for box in boxes:
            if box is None:
                continue
            x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
            pad = 0.08 * max(x1 - x0, y1 - y0)
            cv2.rectangle(
                bgr, (int(x0 - pad), int(y0 - pad)), (int(x1 + pad), int(y1 + pad)), (40, 40, 220), 2
            )
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
        if not ok:
            raise OSError("JPEG encoding failed")
        path = self.folder / frame_name(t)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(jpeg.tobytes())
            tmp.replace(path)  # the worker never reads half a frame
        except OSError:
            with contextlib.suppress(OSError):  # a full disk: an empty file each try, never replaced
                tmp.unlink(missing_ok=True)
            raise
        self.files.append((t, path))
