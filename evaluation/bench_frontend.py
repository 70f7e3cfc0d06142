"""``haad bench frontend``: milliseconds per frame of each pose estimator with 1, 2 and 4 people.

Frames: MediaPipe's test recordings in a row on a 960 x 540 canvas (:mod:`evaluation.composites`;
1 person 480 px tall, 2 people 480 px, 4 people 240 px), and the first frames of vtest.avi (3-8
people 50-110 px tall). Estimators: ``legacy`` (``mp.solutions.pose``: one person whatever the
count), ``tasks`` (the Tasks PoseLandmarker with ``num_poses`` = the people in view, no ids) and
``multi`` (:class:`pose_frontend.multi.MultiPoseEstimator`: detector sweep, one landmark pass per
person, ids). Each run: ``warmup`` untimed frames, then ``frames`` timed ones, each frame once
through the estimator, in order (tracking estimators need consecutive frames). ``people`` is the
mean number of skeletons per timed frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from config.frontend import EstimatorConfig, PeopleConfig
from evaluation.composites import SequenceSpec, composite_frames
from evaluation.multiperson import video_frames
from pose_frontend.estimator import LegacyPoseEstimator, TasksPoseEstimator
from pose_frontend.multi import MultiPoseEstimator

EstimatorName = Literal["legacy", "tasks", "multi"]
ESTIMATORS: tuple[EstimatorName, ...] = ("legacy", "tasks", "multi")
SCENES: dict[str, SequenceSpec] = {
    "1 person": SequenceSpec("1", "side_by_side", ("squats",), (False,), (0.0,), (480,)),
    "2 people": SequenceSpec(
        "2", "side_by_side", ("squats", "dance"), (False, False), (0.0, 0.0), (480, 480)
    ),
    "4 people": SequenceSpec(
        "4",
        "side_by_side",
        ("squats", "dance", "squats", "dance"),
        (False, False, True, True),
        (0.0, 0.0, 2.0, 1.0),
        (240, 240, 240, 240),
    ),
}
VTEST = "vtest.avi"


@dataclass
class BenchRow:
    scene: str
    estimator: str
    frames: int
    ms_median: float
    ms_p90: float
    people: float


def _estimate_fn(
    name: EstimatorName, people: int, task_cache: Path
) -> tuple[Callable[[np.ndarray, float], int], Callable[[], None]]:
    """(frame, t) -> skeletons found, and a close function."""
    if name == "legacy":
        legacy = LegacyPoseEstimator(EstimatorConfig())
        return (lambda rgb, t: int(legacy.estimate(rgb, t) is not None)), legacy.close
    if name == "tasks":
        tasks = TasksPoseEstimator(
            EstimatorConfig(kind="tasks", task_cache_dir=str(task_cache)), num_poses=people
        )
        return (lambda rgb, t: len(tasks.estimate_all(rgb, t))), tasks.close
    multi = MultiPoseEstimator(PeopleConfig())
    return (lambda rgb, t: len(multi.estimate(rgb, t))), multi.close


def _scene_frames(scene: str, data_root: Path, n: int) -> Iterator[tuple[float, np.ndarray]]:
    if scene == VTEST:
        yield from video_frames(data_root / "opencv_vtest" / "vtest.avi", n)
        return
    spec = SCENES[scene]
    spec = SequenceSpec(
        spec.name, spec.layout, spec.people, spec.mirror, spec.offset_s, spec.height_px, seconds=n / 10 + 1
    )
    for f in composite_frames(spec, data_root / "mediapipe_pose_testdata", n):
        yield f.t, f.rgb


def run_bench(
    data_root: Path,
    *,
    estimators: tuple[EstimatorName, ...] = ESTIMATORS,
    scenes: tuple[str, ...] = (*SCENES, VTEST),
    frames: int = 40,
    warmup: int = 5,
    task_cache: Path = Path(".cache/mediapipe"),
) -> list[BenchRow]:
    rows = []
    for scene in scenes:
        clip = list(_scene_frames(scene, data_root, warmup + frames))
        people = len(SCENES[scene].people) if scene in SCENES else 8
        for name in estimators:
            estimate, close = _estimate_fn(name, people, task_cache)
            try:
                ms, found = [], []
                for i, (t, rgb) in enumerate(clip):
                    start = time.perf_counter()
                    n = estimate(rgb, t)
                    if i >= warmup:
                        ms.append(1000 * (time.perf_counter() - start))
                        found.append(n)
            finally:
                close()
            rows.append(
                BenchRow(
                    scene,
                    name,
                    len(ms),
                    float(np.median(ms)),
                    float(np.percentile(ms, 90)),
                    float(np.mean(found)),
                )
            )
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    lines = [f"{'scene':<10} {'estimator':<9} {'frames':>6} {'ms median':>9} {'ms p90':>7} {'people':>6}"]
    lines += [
        f"{r.scene:<10} {r.estimator:<9} {r.frames:>6} {r.ms_median:>9.1f} {r.ms_p90:>7.1f} {r.people:>6.2f}"
        for r in rows
    ]
    return "\n".join(lines)


def rows_as_dicts(rows: list[BenchRow]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]
