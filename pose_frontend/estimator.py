"""MediaPipe Pose on RGB frames -> 33 world landmarks -> the canonical 20-joint skeleton.

Two back ends behind one interface, :class:`PoseEstimator`:

* :class:`LegacyPoseEstimator`: ``mp.solutions.pose.Pose`` (model_complexity 1, the model bundled
  with the wheel, so it works offline), in tracking (video) mode;
* :class:`TasksPoseEstimator`: the Tasks API ``PoseLandmarker`` in VIDEO mode, on a user-supplied
  ``.task`` model (``EstimatorConfig.task_model_path``) or the one built from the models the wheel
  ships (:mod:`pose_frontend.task_model`).

Several people per camera: :mod:`pose_frontend.multi`.

Create the estimator in the process that uses it (MediaPipe graphs are not fork- or pickle-safe)
and close it when done. MediaPipe is imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from config.frontend import EstimatorConfig
from models.skeleton import from_mediapipe33, mediapipe_visibility

NUM_LANDMARKS = 33


class EstimatorError(RuntimeError):
    """Pose estimation cannot run: a missing or unusable model file, or a frame it cannot take."""


@dataclass(frozen=True)
class PoseResult:
    """One detected person in MediaPipe's own layout.

    world: ``(33, 3)`` metres, hip-centred, x toward image right, y down, z away from the camera.
    image: ``(33, 3)`` pixels: x, y, and MediaPipe's relative depth z in the same pixel scale.
    visibility: ``(33,)`` in [0, 1].
    """

    world: np.ndarray
    image: np.ndarray
    visibility: np.ndarray


def landmark_arrays(
    world_lms: Sequence[Any], image_lms: Sequence[Any], width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe world and normalised landmark lists -> world (33, 3), image (33, 3), visibility (33,)."""
    world = np.array([[lm.x, lm.y, lm.z] for lm in world_lms], dtype=np.float32)
    image = np.array([[lm.x * width, lm.y * height, lm.z * width] for lm in image_lms], dtype=np.float32)
    vis = [lm.visibility if lm.visibility is not None else 1.0 for lm in world_lms]
    visibility = np.clip(np.array(vis, dtype=np.float32), 0.0, 1.0)
    if world.shape != (NUM_LANDMARKS, 3) or image.shape != (NUM_LANDMARKS, 3):
        raise EstimatorError(f"MediaPipe returned {len(world)} landmarks; expected {NUM_LANDMARKS}")
    return world, image, visibility


def check_frame(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        shape = getattr(rgb, "shape", None)
        raise EstimatorError(f"expected an RGB uint8 image (H, W, 3); got {type(rgb).__name__} {shape}")
    return np.ascontiguousarray(rgb)


class Closing(ABC):
    """Holds MediaPipe graphs: close it when done, or use it in a ``with`` block."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PoseEstimator(Closing):
    """``estimate(rgb, timestamp_s)`` -> :class:`PoseResult` or None when nobody is detected."""

    @abstractmethod
    def estimate(self, rgb: np.ndarray, timestamp_s: float) -> PoseResult | None: ...


class LegacyPoseEstimator(PoseEstimator):
    """``mp.solutions.pose.Pose`` with model_complexity 1 (the only model the wheel bundles)."""

    def __init__(self, config: EstimatorConfig) -> None:
        import mediapipe as mp

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=config.smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=config.min_detection_confidence,
            min_tracking_confidence=config.min_tracking_confidence,
        )

    def estimate(self, rgb: np.ndarray, timestamp_s: float) -> PoseResult | None:
        # The legacy graph keeps its own frame clock; timestamp_s is part of the interface only.
        frame = check_frame(rgb)
        result = self._pose.process(frame)
        if result.pose_world_landmarks is None or result.pose_landmarks is None:
            return None
        height, width = frame.shape[:2]
        world, image, visibility = landmark_arrays(
            result.pose_world_landmarks.landmark, result.pose_landmarks.landmark, width, height
        )
        return PoseResult(world, image, visibility)

    def close(self) -> None:
        self._pose.close()


class TasksPoseEstimator(PoseEstimator):
    """The Tasks API ``PoseLandmarker`` in VIDEO mode on a ``.task`` model file.

    ``estimate`` gives the first person; ``estimate_all`` up to ``num_poses`` (no ids: the same
    person may come first one frame and second the next). VIDEO mode needs strictly rising integer
    millisecond timestamps; frames closer than 1 ms (or a clock that goes back) are nudged forward
    by 1 ms.
    """

    def __init__(self, config: EstimatorConfig, num_poses: int = 1) -> None:
        if config.task_model_path is None:
            from pose_frontend.task_model import pose_task_model

            path = pose_task_model(Path(config.task_cache_dir))
        else:
            path = Path(config.task_model_path)
        if not path.is_file():
            raise EstimatorError(f"MediaPipe task model not found: {path}")
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=num_poses,
            min_pose_detection_confidence=config.min_detection_confidence,
            min_pose_presence_confidence=config.min_presence_confidence,
            min_tracking_confidence=config.min_tracking_confidence,
            output_segmentation_masks=False,
        )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as e:
            raise EstimatorError(f"cannot load MediaPipe task model {path}: {e}") from e
        self._last_ms: int | None = None

    def estimate(self, rgb: np.ndarray, timestamp_s: float) -> PoseResult | None:
        people = self.estimate_all(rgb, timestamp_s)
        return people[0] if people else None

    def estimate_all(self, rgb: np.ndarray, timestamp_s: float) -> list[PoseResult]:
        frame = check_frame(rgb)
        ms = round(timestamp_s * 1000)
        if self._last_ms is not None and ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=frame)
        result = self._landmarker.detect_for_video(image, ms)
        height, width = frame.shape[:2]
        return [
            PoseResult(*landmark_arrays(world, img, width, height))
            for world, img in zip(result.pose_world_landmarks, result.pose_landmarks, strict=True)
        ]

    def close(self) -> None:
        self._landmarker.close()


def open_estimator(config: EstimatorConfig) -> PoseEstimator:
    """The estimator ``config.kind`` names."""
    if config.kind == "tasks":
        return TasksPoseEstimator(config)
    return LegacyPoseEstimator(config)


def to_canonical_pose(
    result: PoseResult, visibility_threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe result -> canonical joints ``(20, 3)`` float32 and visibility ``(20,)`` in [0, 1].

    With a ``visibility_threshold``, joints less visible than it are NaN (the bus's "missing").
    """
    joints = from_mediapipe33(result.world)
    visibility = mediapipe_visibility(result.visibility)
    if visibility_threshold is not None:
        joints[visibility < visibility_threshold] = np.nan
    return joints, visibility
