"""MediaPipe's own pose subgraphs, run apart: the BlazePose person detector on any image (a tile),
and the landmark model on a given region of interest (one person).

The legacy ``mp.solutions.pose`` graph chains these same subgraphs (``PoseDetectionCpu``,
``PoseLandmarkByRoiCpu``, ``PoseLandmarkFiltering``, ``PoseLandmarksToRoi``, all compiled into the
wheel) around one person; :mod:`pose_frontend.multi` chains them around several. Running them
through MediaPipe keeps its pre- and post-processing (letterboxing, rotation, heatmap refinement,
world landmarks, smoothing) exactly as the single-person graph has them.

A region of interest (:class:`Roi`) is MediaPipe's: a square in pixels, centred on the hips,
rotated so that the body stands upright in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from pose_frontend.estimator import EstimatorError, PoseResult, landmark_arrays

_DETECTOR_GRAPH = """
input_stream: "image"
output_stream: "detections"
node {
  calculator: "PoseDetectionCpu"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
}
"""

_LANDMARK_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "world_landmarks"
output_stream: "next_roi"
input_side_packet: "model_complexity"
input_side_packet: "enable_segmentation"
input_side_packet: "smooth_landmarks"
node {
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE:image"
  output_stream: "SIZE:image_size"
}
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  output_stream: "LANDMARKS:raw_landmarks"
  output_stream: "AUXILIARY_LANDMARKS:raw_auxiliary_landmarks"
  output_stream: "WORLD_LANDMARKS:raw_world_landmarks"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
}
node {
  calculator: "PoseLandmarkFiltering"
  input_stream: "IMAGE_SIZE:image_size"
  input_stream: "NORM_LANDMARKS:raw_landmarks"
  input_stream: "AUX_NORM_LANDMARKS:raw_auxiliary_landmarks"
  input_stream: "WORLD_LANDMARKS:raw_world_landmarks"
  output_stream: "FILTERED_NORM_LANDMARKS:landmarks"
  output_stream: "FILTERED_AUX_NORM_LANDMARKS:auxiliary_landmarks"
  output_stream: "FILTERED_WORLD_LANDMARKS:world_landmarks"
  input_side_packet: "ENABLE:smooth_landmarks"
}
node {
  calculator: "PoseLandmarksToRoi"
  input_stream: "LANDMARKS:auxiliary_landmarks"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "ROI:next_roi"
}
"""


@dataclass(frozen=True)
class Roi:
    """A person's region: a ``size`` x ``size`` pixel square centred at (``cx``, ``cy``), turned by
    ``rotation`` radians (MediaPipe's sign: positive turns the image content clockwise)."""

    cx: float
    cy: float
    size: float
    rotation: float = 0.0

    def shifted(self, dx: float, dy: float) -> Roi:
        return Roi(self.cx + dx, self.cy + dy, self.size, self.rotation)

    def box(self) -> tuple[float, float, float, float]:
        """The axis-aligned square ``(x0, y0, x1, y1)`` the unrotated region covers."""
        h = 0.5 * self.size
        return (self.cx - h, self.cy - h, self.cx + h, self.cy + h)


@dataclass(frozen=True)
class Detection:
    """A person the BlazePose detector found: its score, the region the landmark model reads, and
    the side of the image (tile) it was found in, pixels."""

    score: float
    roi: Roi
    image_px: int


def _normalize_radians(angle: float) -> float:
    return angle - 2.0 * math.pi * math.floor((angle + math.pi) / (2.0 * math.pi))


def detection_roi(hip: tuple[float, float], scale: tuple[float, float]) -> Roi:
    """BlazePose keypoints in pixels (mid-hip, and the point on the circle around the whole body)
    -> the landmark model's region: MediaPipe's ``PoseDetectionToRoi`` (a square twice the circle's
    radius, enlarged 1.25 times, rotated so the hip-to-scale vector points up)."""
    dx, dy = scale[0] - hip[0], scale[1] - hip[1]
    size = 2.0 * math.hypot(dx, dy) * 1.25
    rotation = _normalize_radians(math.pi / 2 - math.atan2(-dy, dx))
    return Roi(hip[0], hip[1], size, rotation)


def _solution_base() -> Any:
    # Imported here: importing mediapipe is slow, and only processes that estimate poses need it.
    from mediapipe.python.solution_base import SolutionBase

    return SolutionBase


class TextGraph:
    """One MediaPipe graph built from text.

    Its clock is MediaPipe's solution clock (30 fps steps, as the legacy graph's), not the frames'
    times: MediaPipe's landmark smoothing is tuned to it, and on the 5 fps reference video real
    times double the p99 landmark error (docs/experiments/2026-12-04-multi-person-frontend.md).
    """

    def __init__(
        self,
        graph_text: str,
        *,
        outputs: list[str],
        side_inputs: dict[str, Any] | None = None,
        calculator_params: dict[str, Any] | None = None,
    ) -> None:
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2

        config = text_format.Parse(graph_text, calculator_pb2.CalculatorGraphConfig())
        try:
            self._solution = _solution_base()(
                graph_config=config,
                outputs=outputs,
                side_inputs=side_inputs,
                calculator_params=calculator_params,
            )
        except (RuntimeError, ValueError) as e:
            raise EstimatorError(f"cannot build MediaPipe pose graph: {e}") from e

    def run(self, inputs: dict[str, Any]) -> NamedTuple:
        result: NamedTuple = self._solution.process(inputs)
        return result

    def skip(self) -> None:
        """Step the clock as :meth:`run` does, for a frame the graph need not see."""
        self._solution._simulated_timestamp += 33333  # SolutionBase.process's step

    def close(self) -> None:
        self._solution.close()


class PersonDetector:
    """MediaPipe's BlazePose detector (224 x 224, letterboxed) on whole images or tiles of them.

    Thread-unsafe, like every graph; one per process.
    """

    def __init__(self, min_score: float) -> None:
        self._graph = TextGraph(
            _DETECTOR_GRAPH,
            outputs=["detections"],
            calculator_params={"posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": min_score},
        )

    def detect(self, rgb: np.ndarray, origin: tuple[int, int] = (0, 0)) -> list[Detection]:
        """People in ``rgb`` (a tile whose top-left corner sits at ``origin`` of the frame), with
        regions in frame pixels."""
        height, width = rgb.shape[:2]
        result: Any = self._graph.run({"image": np.ascontiguousarray(rgb)})
        found = []
        for d in result.detections or ():
            k = d.location_data.relative_keypoints
            hip = (origin[0] + k[0].x * width, origin[1] + k[0].y * height)
            scale = (origin[0] + k[1].x * width, origin[1] + k[1].y * height)
            found.append(Detection(float(d.score[0]), detection_roi(hip, scale), max(width, height)))
        return found

    def close(self) -> None:
        self._graph.close()


class RoiLandmarker:
    """The BlazePose landmark model (full) on one person's region, with MediaPipe's landmark smoothing.

    One per tracked person: the smoothing filter holds that person's recent landmarks. ``landmarks``
    returns the pose and the region to read next (MediaPipe's own tracking rule), or None when the
    model says nobody is in the region (its pose score below ``min_presence``).
    """

    def __init__(self, min_presence: float, smooth: bool = True) -> None:
        self._graph = TextGraph(
            _LANDMARK_GRAPH,
            outputs=["landmarks", "world_landmarks", "next_roi"],
            side_inputs={"model_complexity": 1, "enable_segmentation": False, "smooth_landmarks": smooth},
            calculator_params={
                "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": min_presence
            },
        )

    def landmarks(self, rgb: np.ndarray, roi: Roi) -> tuple[PoseResult, Roi] | None:
        from mediapipe.framework.formats import rect_pb2

        height, width = rgb.shape[:2]
        rect = rect_pb2.NormalizedRect(
            x_center=roi.cx / width,
            y_center=roi.cy / height,
            width=roi.size / width,
            height=roi.size / height,
            rotation=roi.rotation,
        )
        result: Any = self._graph.run({"image": rgb, "roi": rect})
        if result.landmarks is None or result.world_landmarks is None or result.next_roi is None:
            return None
        world, image, visibility = landmark_arrays(
            result.world_landmarks.landmark, result.landmarks.landmark, width, height
        )
        n = result.next_roi
        size = max(n.width * width, n.height * height)
        return PoseResult(world, image, visibility), Roi(
            n.x_center * width, n.y_center * height, size, n.rotation
        )

    def close(self) -> None:
        self._graph.close()
