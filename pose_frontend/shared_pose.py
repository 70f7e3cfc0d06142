"""The legacy pose graph split so that several cameras share its models (``cameras_per_frontend`` > 1).

``mp.solutions.pose`` (:class:`~pose_frontend.estimator.LegacyPoseEstimator`) is one graph per
camera, and a running graph holds about 110 MB of native memory: the person detector's and the
landmark model's TFLite interpreters and their tensor arenas
(docs/experiments/2026-12-05-frontend-memory.md). Those parts are stateless; the graph's state per
camera is small: the previous frame's region of interest and the landmark smoothing filters. Here
the same MediaPipe subgraphs, wired as ``pose_landmark_cpu`` wires them, run in two kinds of graph:

* the models, without state: :class:`PersonRegions` (``PoseDetectionCpu`` -> first detection ->
  ``PoseDetectionToRoi``) and :class:`RawLandmarks` (``PoseLandmarkByRoiCpu``); a process's
  :class:`PoseModelPool` builds up to ``pose_threads`` landmark graphs and a detector for every two
  of them, and lends each to one camera's frame at a time;
* a :class:`SharedModelPoseEstimator` per camera: its region of interest, and its own small
  graph of ``PoseLandmarkFiltering`` -> ``PoseLandmarksToRoi`` (no model) on the graph clock a legacy
  graph of its own would have.

The landmarks are the legacy graph's, frame for frame (tests/pose_frontend/test_frontend_shared_pose.py),
whichever slot reads a camera's frame and however cameras interleave.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import numpy as np

from config.frontend import EstimatorConfig
from pose_frontend.estimator import PoseEstimator, PoseResult, check_frame, landmark_arrays
from pose_frontend.graphs import TextGraph

_Model = TypeVar("_Model")

_DETECT_GRAPH = """
input_stream: "image"
output_stream: "roi"
node {
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE_CPU:image"
  output_stream: "SIZE:image_size"
}
node {
  calculator: "PoseDetectionCpu"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
}
node {
  calculator: "SplitDetectionVectorCalculator"
  input_stream: "detections"
  output_stream: "detection"
  options {
    [mediapipe.SplitVectorCalculatorOptions.ext] {
      ranges { begin: 0 end: 1 }
      element_only: true
    }
  }
}
node {
  calculator: "PoseDetectionToRoi"
  input_stream: "DETECTION:detection"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "ROI:roi"
}
"""

_LANDMARK_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "auxiliary_landmarks"
output_stream: "world_landmarks"
input_side_packet: "model_complexity"
input_side_packet: "enable_segmentation"
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks"
  output_stream: "AUXILIARY_LANDMARKS:auxiliary_landmarks"
  output_stream: "WORLD_LANDMARKS:world_landmarks"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
}
"""

_FILTER_GRAPH = """
input_stream: "image"
input_stream: "landmarks"
input_stream: "auxiliary_landmarks"
input_stream: "world_landmarks"
output_stream: "filtered_landmarks"
output_stream: "filtered_world_landmarks"
output_stream: "next_roi"
input_side_packet: "smooth_landmarks"
node {
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE_CPU:image"
  output_stream: "SIZE:image_size"
}
node {
  calculator: "PoseLandmarkFiltering"
  input_stream: "IMAGE_SIZE:image_size"
  input_stream: "NORM_LANDMARKS:landmarks"
  input_stream: "AUX_NORM_LANDMARKS:auxiliary_landmarks"
  input_stream: "WORLD_LANDMARKS:world_landmarks"
  output_stream: "FILTERED_NORM_LANDMARKS:filtered_landmarks"
  output_stream: "FILTERED_AUX_NORM_LANDMARKS:filtered_auxiliary_landmarks"
  output_stream: "FILTERED_WORLD_LANDMARKS:filtered_world_landmarks"
  input_side_packet: "ENABLE:smooth_landmarks"
}
node {
  calculator: "PoseLandmarksToRoi"
  input_stream: "LANDMARKS:filtered_auxiliary_landmarks"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "ROI:next_roi"
}
"""


class PersonRegions:
    """The legacy graph's person detector as a stateless graph: a frame -> the first person's region
    of interest (a ``NormalizedRect``), or None. Thread-unsafe: one frame at a time."""

    def __init__(self, min_detection_confidence: float) -> None:
        self._graph = TextGraph(
            _DETECT_GRAPH,
            outputs=["roi"],
            calculator_params={
                "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": min_detection_confidence
            },
        )

    def __call__(self, rgb: np.ndarray) -> Any:
        return self._graph.run({"image": rgb}).roi  # type: ignore[attr-defined]

    def close(self) -> None:
        self._graph.close()


class RawLandmarks:
    """The legacy graph's landmark model as a stateless graph: a frame and a region -> a result with
    unsmoothed ``landmarks``, ``auxiliary_landmarks`` and ``world_landmarks`` (``landmarks`` None when
    the model sees nobody there). Thread-unsafe: one frame at a time."""

    def __init__(self, min_tracking_confidence: float) -> None:
        self._graph = TextGraph(
            _LANDMARK_GRAPH,
            outputs=["landmarks", "auxiliary_landmarks", "world_landmarks"],
            side_inputs={"model_complexity": 1, "enable_segmentation": False},
            calculator_params={
                "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": (
                    min_tracking_confidence
                )
            },
        )

    def __call__(self, rgb: np.ndarray, roi: Any) -> Any:
        return self._graph.run({"image": rgb, "roi": roi})

    def close(self) -> None:
        self._graph.close()


class _Lender(Generic[_Model]):
    """At most ``size`` models per threshold, built when first needed, each lent to one frame at a
    time (a frame waits for a free one)."""

    def __init__(self, make: Callable[[float], _Model], size: int) -> None:
        self._make, self.size = make, size
        self._lock = threading.Lock()
        self._free: dict[float, queue.LifoQueue[_Model]] = {}
        self._built: list[_Model] = []
        self._count: dict[float, int] = {}

    @contextmanager
    def lend(self, threshold: float) -> Iterator[_Model]:
        with self._lock:
            free = self._free.setdefault(threshold, queue.LifoQueue())
            model = None
            if free.empty() and self._count.get(threshold, 0) < self.size:
                model = self._make(threshold)
                self._built.append(model)
                self._count[threshold] = self._count.get(threshold, 0) + 1
        if model is None:
            model = free.get()
        try:
            yield model
        finally:
            free.put(model)

    def close(self) -> None:
        with self._lock:
            for model in self._built:
                model.close()  # type: ignore[attr-defined]
            self._built.clear()
            self._free.clear()
            self._count.clear()


class PoseModelPool:
    """One frontend process's pose models, shared by its cameras, per confidence setting:
    ``landmark_models`` landmark graphs (one runs on every frame of a tracked person) and a person
    detector for every two of them (it runs only while a camera has nobody tracked, and takes about
    half a landmark pass's CPU: 11 against 21 ms, so cameras with nobody in view get the frame rate
    of cameras with somebody)."""

    def __init__(self, landmark_models: int) -> None:
        self.regions: _Lender[PersonRegions] = _Lender(PersonRegions, (landmark_models + 1) // 2)
        self.landmarks: _Lender[RawLandmarks] = _Lender(RawLandmarks, landmark_models)

    def close(self) -> None:
        self.regions.close()
        self.landmarks.close()


class SharedModelPoseEstimator(PoseEstimator):
    """One camera's legacy pose tracking on models borrowed from a :class:`PoseModelPool`."""

    def __init__(self, config: EstimatorConfig, pool: PoseModelPool) -> None:
        self._config, self._pool = config, pool
        self._roi: Any = None  # the region the previous frame's landmarks gave; None: detect
        self._reset = False  # the filter was given a frame without landmarks since the last with
        self._filter = TextGraph(
            _FILTER_GRAPH,
            outputs=["filtered_landmarks", "filtered_world_landmarks", "next_roi"],
            side_inputs={"smooth_landmarks": config.smooth_landmarks},
        )

    def estimate(self, rgb: np.ndarray, timestamp_s: float) -> PoseResult | None:
        frame = check_frame(rgb)
        raw, roi = None, self._roi
        if roi is None:
            with self._pool.regions.lend(self._config.min_detection_confidence) as regions:
                roi = regions(frame)
        if roi is not None:
            with self._pool.landmarks.lend(self._config.min_tracking_confidence) as landmarks:
                raw = landmarks(frame, roi)
        # As in the legacy graph, the filter's clock steps once per frame, and a frame without
        # landmarks resets the smoothing. The filter sees the first such frame of a run, not the
        # others: it holds each frame given without landmarks until a later one brings some, so
        # nobody in view for long queued every frame (170 bytes each, and MediaPipe's "Resolved a
        # deadlock by increasing max_queue_size" again and again, past 100).
        inputs: dict[str, Any] = {"image": frame}
        if raw is not None and raw.landmarks is not None:
            inputs |= {
                "landmarks": raw.landmarks,
                "auxiliary_landmarks": raw.auxiliary_landmarks,
                "world_landmarks": raw.world_landmarks,
            }
        elif self._reset:
            self._filter.skip()
            return None
        self._reset = "landmarks" not in inputs
        out: Any = self._filter.run(inputs)
        found = "landmarks" in inputs and out.filtered_landmarks is not None
        self._roi = out.next_roi if found else None
        if not found or out.filtered_world_landmarks is None:
            return None
        height, width = frame.shape[:2]
        return PoseResult(
            *landmark_arrays(
                out.filtered_world_landmarks.landmark, out.filtered_landmarks.landmark, width, height
            )
        )

    def close(self) -> None:
        self._filter.close()
