"""The frontend's ring of recent frames, for the pictures an alert keeps (``snapshots`` per stream).

Every frame, at most ``FPS`` a second, is downscaled to ``WIDTH`` px with every person's box drawn and
written as a JPEG named by its source time in milliseconds into the stream's ring folder
(``state_dir/snapshots/ring/<stream>/``); frames older than ``SECONDS`` (source time) go. The
worker copies the frames around each alert out of it (:mod:`edge.snapshots`). Frames stay on this
host: only the review server reads them. A frame that cannot be written is counted, never fatal.
"""

from __future__ import annotations

import logging
import shutil
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from bus.messages import Box

log = logging.getLogger(__name__)

WIDTH = 320  # px of a kept frame
FPS = 4.0  # frames kept per second of source time, at most
SECONDS = 120.0  # how far back the ring reaches (source seconds): the longest wait for the worker
QUALITY = 70  # JPEG quality


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
    def __init__(self, folder: Path, continues_after: float | None = None) -> None:
        """``continues_after``: the last frame time an earlier process of this stream sent, when this
        one continues its clock (a restart by the same daemon); its frames up to then stay, as the
        worker may still copy them for an alert open across the restart. None: a new clock, whose
        frames a previous run's would be mistaken for, so the folder starts empty."""
        if continues_after is None:
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.files: deque[tuple[float, Path]] = deque()
        self.failures = 0
        if continues_after is not None:
            self._adopt(continues_after)

    def _adopt(self, until: float) -> None:
        last = frame_name(until)  # names, zero-padded, sort as their times
        for path in sorted(self.folder.iterdir()):
            if path.suffix == ".jpg" and path.stem.isdigit() and path.name <= last:
                self.files.append((frame_time(path.name), path))
            else:  # half written when the process died, or never sent: this run writes it again
                path.unlink(missing_ok=True)

    def add(self, t: float, rgb: np.ndarray, boxes: Sequence[Box | None]) -> None:
        """Keep frame ``rgb`` (H, W, 3 uint8) taken at source time ``t`` with every person's box
        (fractions of the frame, ``bus.messages.Box``; None: a person without one) drawn."""
        if self.files and t - self.files[-1][0] < 1.0 / FPS:
            return
        try:
            self._write(t, rgb, boxes)
        except (OSError, cv2.error) as e:
            self.failures += 1
            if self.failures == 1:
                log.warning("snapshot ring %s: a frame could not be written (%s); counting", self.folder, e)
        while self.files and self.files[0][0] < t - SECONDS:
            self.files.popleft()[1].unlink(missing_ok=True)

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
        tmp.write_bytes(jpeg.tobytes())
        tmp.replace(path)  # the worker never reads half a frame
        self.files.append((t, path))
