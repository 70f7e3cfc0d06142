"""Two-person videos built from real single-person recordings, with where each person is.

The recordings are MediaPipe's own test videos (``mediapipe_pose_testdata``): ``pose_squats.mp4``
(a woman doing squats, 5 fps) and ``pose_1.mp4`` (a figure dancing, 30 fps), each with reference
keypoints per frame (BlazePose's for the squats, MoveNet's for the dance), so every composite frame
knows each person's box without running the estimator under test.

Layouts (:data:`SEQUENCES`): two recordings side by side on one canvas (also the same recording
twice, mirrored and out of step: two people dressed alike), small (people about 150 px tall), and
crossing: one person, cut out of their video by MediaPipe's segmentation mask, walks across the
other, in front of them. Recordings shorter than the sequence play forward and back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from pose_frontend.sources import VideoFileSource

FPS = 10.0
CANVAS = (960, 540)  # width, height
BACKGROUND = 114
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Recording:
    """One real single-person video: RGB frames ``(T, H, W, 3)`` and the person's box per frame
    ``(T, 4)`` from the reference keypoints."""

    name: str
    frames: np.ndarray
    fps: float
    boxes: np.ndarray


@dataclass(frozen=True)
class SequenceSpec:
    """``people``: recording names; ``mirror``/``offset_s``/``height_px`` (each person's panel
    height on the canvas): one per person. ``side_by_side``: the panels in a row, evenly spaced;
    ``crossing`` (two people): the second walks across the first, in front of them (left to right,
    or right to left when mirrored)."""

    name: str
    layout: Literal["side_by_side", "crossing"]
    people: tuple[str, ...]
    mirror: tuple[bool, ...] = (False, False)
    offset_s: tuple[float, ...] = (0.0, 0.0)
    height_px: tuple[int, ...] = (480, 480)
    seconds: float = 12.0


SEQUENCES: tuple[SequenceSpec, ...] = (
    SequenceSpec("side_by_side", "side_by_side", ("squats", "dance")),
    SequenceSpec("side_by_side_swapped", "side_by_side", ("dance", "squats")),
    SequenceSpec("twins", "side_by_side", ("squats", "squats"), mirror=(False, True), offset_s=(0.0, 3.1)),
    SequenceSpec("small", "side_by_side", ("squats", "dance"), height_px=(160, 160)),
    SequenceSpec("crossing", "crossing", ("dance", "squats"), height_px=(480, 420)),
    SequenceSpec(
        "crossing_twins",
        "crossing",
        ("squats", "squats"),
        mirror=(False, True),
        offset_s=(0.0, 5.3),
        height_px=(480, 440),
    ),
)


@dataclass(frozen=True)
class CompositeFrame:
    """One frame: ``rgb`` ``(H, W, 3)``, each person's box, and whether each is wholly in view
    (inside the canvas and overlapping nobody)."""

    t: float
    rgb: np.ndarray
    boxes: tuple[Box, ...]
    fully_visible: tuple[bool, ...]


def _read_video(path: Path) -> np.ndarray:
    with VideoFileSource(path) as source:
        return np.stack([rgb for _, rgb in source])


def _keypoint_boxes(points: np.ndarray) -> np.ndarray:
    """``(T, K, 2)`` pixel keypoints -> ``(T, 4)`` boxes, stretched 10 % up (the keypoints stop at
    the eyes and ankles, the body does not)."""
    x0, y0 = points[..., 0].min(axis=1), points[..., 1].min(axis=1)
    x1, y1 = points[..., 0].max(axis=1), points[..., 1].max(axis=1)
    return np.stack([x0, y0 - 0.1 * (y1 - y0), x1, y1], axis=1)


@cache
def person_masks(testdata: Path, name: str) -> np.ndarray:
    """MediaPipe's segmentation of the person in each frame of a recording, ``(T, H, W)`` in [0, 1]."""
    import mediapipe as mp

    frames = load_recording(testdata, name).frames

    with mp.solutions.pose.Pose(model_complexity=1, enable_segmentation=True) as pose:
        masks = []
        for rgb in frames:
            result = pose.process(rgb)
            mask = result.segmentation_mask
            masks.append(np.zeros(rgb.shape[:2], np.float32) if mask is None else mask.astype(np.float32))
    return np.stack(masks)


@cache
def load_recording(testdata: Path, name: str) -> Recording:
    """``squats`` or ``dance`` from a ``mediapipe_pose_testdata`` folder."""
    if name == "squats":
        frames = _read_video(testdata / "pose_squats.mp4")
        points = np.array(json.loads((testdata / "pose_squats.full.json").read_text()), dtype=np.float64)[
            ..., :2
        ]
        fps = 5.0
    elif name == "dance":
        frames = _read_video(testdata / "pose_1.mp4")
        raw = json.loads((testdata / "pose_1.json").read_text())
        points = np.array([[[p["x"], p["y"]] for p in frame.values()] for frame in raw], dtype=np.float64)
        fps = 30.0
    else:
        raise ValueError(f"unknown recording {name!r}; known: squats, dance")
    if len(points) != len(frames):
        raise ValueError(f"{name}: {len(frames)} frames but {len(points)} reference poses")
    return Recording(name, frames, fps, _keypoint_boxes(points))


def _source_index(t: float, fps: float, n: int) -> int:
    """Frame of a recording of ``n`` frames at time ``t``, played forward and back (no jump cut)."""
    i = int(t * fps) % (2 * n - 2)
    return i if i < n else 2 * n - 2 - i


def _place(box: np.ndarray, width: int, scale: float, mirror: bool, origin: tuple[float, float]) -> Box:
    x0, y0, x1, y1 = box
    if mirror:
        x0, x1 = width - x1, width - x0
    return (origin[0] + x0 * scale, origin[1] + y0 * scale, origin[0] + x1 * scale, origin[1] + y1 * scale)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(box: Box) -> bool:
    return box[0] >= 0 and box[1] >= 0 and box[2] <= CANVAS[0] and box[3] <= CANVAS[1]


def composite_frames(
    spec: SequenceSpec, testdata: Path, max_frames: int | None = None
) -> Iterator[CompositeFrame]:
    """The frames of ``spec`` at :data:`FPS`, built from the recordings in ``testdata``."""
    recordings = [load_recording(testdata, name) for name in spec.people]
    width, height = CANVAS
    n = int(spec.seconds * FPS) if max_frames is None else min(max_frames, int(spec.seconds * FPS))
    for i in range(n):
        t = i / FPS
        canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
        boxes: list[Box] = []
        for k, rec in enumerate(recordings):
            j = _source_index(t + spec.offset_s[k], rec.fps, len(rec.frames))
            rgb = rec.frames[j][:, ::-1] if spec.mirror[k] else rec.frames[j]
            scale = spec.height_px[k] / rgb.shape[0]
            panel = cv2.resize(
                np.ascontiguousarray(rgb), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA
            )
            ph, pw = panel.shape[:2]
            y = (height - ph) // 2
            if spec.layout == "side_by_side" or k == 0:
                slot = (2 * k + 1) * width // (2 * len(recordings))
                x = slot - pw // 2 if spec.layout == "side_by_side" else (width - pw) // 2
                canvas[y : y + ph, x : x + pw] = panel
            else:  # the second person walks across the first, in front of them
                progress = t / spec.seconds
                x = round((1 - progress if spec.mirror[k] else progress) * (width - pw))
                mask = person_masks(testdata, rec.name)[j]
                mask = np.ascontiguousarray(mask[:, ::-1] if spec.mirror[k] else mask)
                alpha = cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_LINEAR)[..., None]
                area = canvas[y : y + ph, x : x + pw].astype(np.float32)
                canvas[y : y + ph, x : x + pw] = (alpha * panel + (1 - alpha) * area).astype(np.uint8)
            boxes.append(_place(rec.boxes[j], rgb.shape[1], scale, spec.mirror[k], (x, y)))
        visible = tuple(
            _inside(b) and not any(_overlap(b, o) for j, o in enumerate(boxes) if j != k)
            for k, b in enumerate(boxes)
        )
        yield CompositeFrame(t, canvas, tuple(boxes), visible)
