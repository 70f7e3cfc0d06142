"""``haad eval multiperson``: are several people in one camera each found, and do they keep their id?

First, one person: each estimator (legacy, tasks, multi) on MediaPipe's squat video against its
reference landmarks. Then two kinds of footage:

* two-person sequences composited from real single-person recordings
  (:mod:`evaluation.composites`), where every frame knows each person's box: detection recall per
  person over the frames where both are wholly in view, id switches per minute per person;
* ``opencv_vtest/vtest.avi``, a real surveillance view with 3-8 small people, against a hand count
  (``evaluation/data/vtest_people.json``: every 40th frame and frames 10-30, each person's centre and height) and
  hand-checked crossings (each person's position before and after two people met: the same id must
  be at both).

A person counts as found in a frame when a skeleton's box centre lies within half their height of
theirs (one skeleton per person, nearest first). An id switch is a change of the track id found on
a person between two frames where they are found (CLEAR-MOT's IDSW), counted over the frames where
both people are wholly in view: while one is in front of the other, which skeleton is whose is
ambiguous, so a crossing counts as a switch when the ids come out of it exchanged or new.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from bus.messages import SkeletonFrame
from config.backend import OnnxRuntimeConfig
from config.frontend import PeopleConfig
from config.worker import WorkerConfig
from edge.backends import EncoderBackend, make_backend
from evaluation.composites import FPS, SEQUENCES, SequenceSpec, composite_frames
from evaluation.person_alerts import run_person_alerts
from evaluation.vtest_walk import ENROL_S, WalkReport, save_frames, walking_profile_run
from pose_frontend.multi import MultiPoseEstimator
from pose_frontend.process import person_skeleton
from pose_frontend.sources import VideoFileSource

VTEST_TRUTH = Path(__file__).parent / "data" / "vtest_people.json"
# A hand-marked person counts if wholly in view and at least this tall (the estimator's default
# smallest person); smaller ones are reported apart.
VTEST_MIN_HEIGHT_PX = 50
MATCH_GATE = 0.5  # a skeleton's box centre within half the person's height of theirs

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Seen:
    """A skeleton the estimator reported: its track id and box (frame pixels)."""

    track_id: int
    box: Box


@dataclass
class Run:
    """The estimator over a video: who was seen in each frame and how long each frame took."""

    seen: list[list[Seen]] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    frames: list[SkeletonFrame] = field(default_factory=list)  # as the frontend publishes them

    def timing(self) -> dict[str, float]:
        ms = np.array(self.ms) if self.ms else np.zeros(1)
        return {"ms_median": float(np.median(ms)), "ms_p90": float(np.percentile(ms, 90))}


def run_estimator(frames: Iterable[tuple[float, np.ndarray]], config: PeopleConfig) -> Run:
    """:class:`MultiPoseEstimator` over ``(timestamp_s, rgb)`` frames."""
    run = Run()
    with MultiPoseEstimator(config) as estimator:
        for t, rgb in frames:
            start = time.perf_counter()
            people = estimator.estimate(rgb, t)
            run.ms.append(1000 * (time.perf_counter() - start))
            run.seen.append([Seen(p.track_id, p.box) for p in people])
            h, w = rgb.shape[:2]
            skeletons = tuple(person_skeleton(p, w, h) for p in people)
            run.frames.append(SkeletonFrame.of_people("video", len(run.frames), t, skeletons, sent_at=0.0))
        run.counters = {
            **estimator.tracker.counters.snapshot(),
            "detector_passes": estimator.detector_passes,
            "landmark_passes": estimator.landmark_passes,
            "fragments": estimator.fragments,
        }
    return run


def match_people(centers: np.ndarray, heights: np.ndarray, seen: Sequence[Seen]) -> list[int | None]:
    """For each person (centre ``(N, 2)``, height ``(N,)``), the track id of the skeleton found on
    them, or None: one-to-one, nearest first, within :data:`MATCH_GATE` of their height."""
    found: list[int | None] = [None] * len(centers)
    if not len(centers) or not seen:
        return found
    boxes = np.array([s.box for s in seen], dtype=np.float64)
    box_centers = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
    cost = np.linalg.norm(centers[:, None] - box_centers[None], axis=2) / heights[:, None]
    # Pairs beyond the gate all cost the same, so that they never sway which pairs within it win.
    rows, cols = linear_sum_assignment(np.minimum(cost, MATCH_GATE + 1.0))
    for r, c in zip(rows, cols, strict=True):
        if cost[r, c] <= MATCH_GATE:
            found[r] = seen[c].track_id
    return found


def id_switches(ids: Iterable[int | None]) -> int:
    """Changes of id between consecutive frames where a person was found."""
    found = [i for i in ids if i is not None]
    return sum(a != b for a, b in zip(found, found[1:], strict=False))


# --- composited two-person sequences ----------------------------------------------------------


@dataclass
class PersonScore:
    person: str
    frames_in_view: int  # frames where both people are wholly in view
    found_in_view: int
    recall: float
    id_switches: (
        int  # between frames where both are in view (so a switch during a crossing counts once it lasts)
    )
    switches_per_minute: float


@dataclass
class SequenceReport:
    name: str
    frames: int
    seconds: float
    people: list[PersonScore]
    extra_skeletons_per_frame: float  # skeletons on neither person
    ms_median: float
    ms_p90: float

    def passes(self, min_recall: float = 0.95, max_switches_per_minute: float = 1.0) -> bool:
        return all(
            p.recall >= min_recall and p.switches_per_minute <= max_switches_per_minute for p in self.people
        )


def _box_center_height(box: Box) -> tuple[np.ndarray, float]:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]), box[3] - box[1]


def evaluate_sequence(
    spec: SequenceSpec, testdata: Path, config: PeopleConfig, max_frames: int | None = None
) -> SequenceReport:
    frames = list(composite_frames(spec, testdata, max_frames))
    run = run_estimator(((f.t, f.rgb) for f in frames), config)
    n = len(spec.people)
    ids: list[list[int | None]] = [[] for _ in range(n)]
    in_view = [0] * n
    found = [0] * n
    extra = 0
    for frame, seen in zip(frames, run.seen, strict=True):
        centers, heights = zip(*(_box_center_height(b) for b in frame.boxes), strict=True)
        matched = match_people(np.array(centers), np.array(heights), seen)
        extra += len(seen) - sum(m is not None for m in matched)
        if not all(frame.fully_visible):
            continue  # while one is in front of another, which skeleton is whose is ambiguous
        for k in range(n):
            ids[k].append(matched[k])
            in_view[k] += 1
            found[k] += matched[k] is not None
    seconds = len(frames) / FPS
    people = []
    for k in range(n):
        switches = id_switches(ids[k])
        people.append(
            PersonScore(
                person=f"{k + 1}:{spec.people[k]}",
                frames_in_view=in_view[k],
                found_in_view=found[k],
                recall=found[k] / in_view[k] if in_view[k] else float("nan"),
                id_switches=switches,
                switches_per_minute=switches / (seconds / 60) if seconds else float("nan"),
            )
        )
    return SequenceReport(
        spec.name, len(frames), seconds, people, extra / max(1, len(frames)), **run.timing()
    )


# --- vtest.avi against the hand count -----------------------------------------------------------


@dataclass
class CrossingResult:
    frames: tuple[int, int]
    kept: int  # people with the same id before and after
    switched: int  # found before and after, under different ids
    unfound: int  # not found at one end


@dataclass
class VtestReport:
    frames: int
    hand_counted_frames: int
    people: int  # hand-marked, wholly in view, >= VTEST_MIN_HEIGHT_PX tall
    found: int
    recall: float
    frames_with_4: int  # hand-counted frames with at least 4 such people
    frames_with_4_found: int  # ... where at least 4 of them have a skeleton
    small_people: int  # hand-marked but smaller or partly hidden
    small_found: int
    extra_skeletons_per_frame: (
        float  # on no hand-marked person (things taken for people, or people the count left out)
    )
    crossings: list[CrossingResult]
    crossing_switches_per_minute_per_person: float
    ms_median: float
    ms_p90: float
    counters: dict[str, int]
    walking: WalkReport | None = None  # a walking profile from the first 30 s, the rest scored


def video_frames(path: Path, max_frames: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """``(timestamp_s, rgb)`` of a video file, the first ``max_frames`` of them (all when None)."""
    with VideoFileSource(path) as source:
        yield from islice(source, max_frames)


def score_vtest(run: Run, truth: dict[str, object]) -> VtestReport:
    """The run of vtest.avi against the hand count and the hand-checked crossings in ``truth``."""
    counted: dict[str, list[list[float]]] = truth["frames"]  # type: ignore[assignment]
    people = found = with4 = with4_found = small = small_found = extra = frames_counted = 0
    for key, marked in counted.items():
        f = int(key)
        if f >= len(run.seen):
            continue
        frames_counted += 1
        m = np.array(marked, dtype=np.float64)
        ids = match_people(m[:, :2], m[:, 2], run.seen[f])
        extra += len(run.seen[f]) - sum(i is not None for i in ids)
        counts = (m[:, 3] == 1) & (m[:, 2] >= VTEST_MIN_HEIGHT_PX)
        hits = np.array([i is not None for i in ids])
        people += int(counts.sum())
        found += int((counts & hits).sum())
        small += int((~counts).sum())
        small_found += int((~counts & hits).sum())
        if counts.sum() >= 4:
            with4 += 1
            with4_found += int((counts & hits).sum() >= 4)
    crossings = []
    crossing_people = 0
    for c in truth.get("crossings", []):  # type: ignore[attr-defined]
        a, b = c["frames"]
        if b >= len(run.seen):
            continue
        pts = np.array(c["people"], dtype=np.float64)  # (n, 5): x_a, y_a, x_b, y_b, height
        before = match_people(pts[:, 0:2], pts[:, 4], run.seen[a])
        after = match_people(pts[:, 2:4], pts[:, 4], run.seen[b])
        unfound = sum(x is None or y is None for x, y in zip(before, after, strict=True))
        switched = sum(x is not None and y is not None and x != y for x, y in zip(before, after, strict=True))
        crossings.append(CrossingResult((a, b), len(pts) - unfound - switched, switched, unfound))
        crossing_people += len(pts)
    minutes = len(run.seen) / 10.0 / 60.0
    switches = sum(c.switched for c in crossings)
    n_people = max(1, crossing_people)
    return VtestReport(
        frames=len(run.seen),
        hand_counted_frames=frames_counted,
        people=people,
        found=found,
        recall=found / people if people else float("nan"),
        frames_with_4=with4,
        frames_with_4_found=with4_found,
        small_people=small,
        small_found=small_found,
        extra_skeletons_per_frame=extra / max(1, frames_counted),
        crossings=crossings,
        # Each crossing person is followed over the whole run: switches per person per minute of video.
        crossing_switches_per_minute_per_person=switches / n_people / minutes if minutes else float("nan"),
        counters=run.counters,
        ms_median=run.timing()["ms_median"],
        ms_p90=run.timing()["ms_p90"],
    )


def evaluate_vtest(
    video: Path,
    config: PeopleConfig,
    max_frames: int | None = None,
    tracks_out: Path | None = None,
    backend: EncoderBackend | None = None,
    skeletons_out: Path | None = None,
) -> VtestReport:
    """The estimator on vtest.avi against the hand count; with ``backend``, also the walking
    profile's alerts (:mod:`evaluation.vtest_walk`)."""
    run = run_estimator(video_frames(video, max_frames), config)
    if tracks_out is not None:
        rows = [[[s.track_id, *[round(v, 1) for v in s.box]] for s in seen] for seen in run.seen]
        tracks_out.write_text(json.dumps({"video": str(video), "frames": rows}))
    if skeletons_out is not None:
        save_frames(skeletons_out, run.frames)
    report = score_vtest(run, json.loads(VTEST_TRUTH.read_text()))
    if backend is not None and run.frames and run.frames[-1].timestamp - run.frames[0].timestamp > ENROL_S:
        report.walking = walking_profile_run(run.frames, backend, WorkerConfig())
    return report


# --- one person: each estimator against MediaPipe's reference landmarks ------------------------


@dataclass
class ReferenceAccuracy:
    """An estimator on pose_squats.mp4 (65 frames, one person) against MediaPipe's reference."""

    estimator: str
    frames_found: int
    image_p99_px: float
    world_p99_m: float


def reference_accuracy(testdata: Path, config: PeopleConfig, task_cache: Path) -> list[ReferenceAccuracy]:
    """legacy, tasks and multi on the squat video: p99 of |landmark - reference| over found frames."""
    from config.frontend import EstimatorConfig
    from pose_frontend.estimator import LegacyPoseEstimator, PoseResult, TasksPoseEstimator

    expected_image = np.array(json.loads((testdata / "pose_squats.full.json").read_text()))[..., :2]
    expected_world = np.array(json.loads((testdata / "pose_squats_3d.full.json").read_text()))
    frames = list(video_frames(testdata / "pose_squats.mp4"))
    runs: dict[str, list[PoseResult | None]] = {}
    with LegacyPoseEstimator(EstimatorConfig()) as legacy:
        runs["legacy"] = [legacy.estimate(rgb, t) for t, rgb in frames]
    with TasksPoseEstimator(EstimatorConfig(kind="tasks", task_cache_dir=str(task_cache))) as tasks:
        runs["tasks"] = [tasks.estimate(rgb, t) for t, rgb in frames]
    with MultiPoseEstimator(config) as multi:
        runs["multi"] = [
            people[0].landmarks if (people := multi.estimate(rgb, t)) else None for t, rgb in frames
        ]
    rows = []
    for name, results in runs.items():
        found = [i for i, r in enumerate(results) if r is not None]
        image = np.stack([results[i].image[:, :2] for i in found])  # type: ignore[union-attr]
        world = np.stack([results[i].world for i in found])  # type: ignore[union-attr]
        rows.append(
            ReferenceAccuracy(
                name,
                len(found),
                float(np.percentile(np.abs(image - expected_image[found]), 99)),
                float(np.percentile(np.abs(world - expected_world[found]), 99)),
            )
        )
    return rows


# --- the command ------------------------------------------------------------------------------


@dataclass
class MultipersonReport:
    config: dict[str, object]
    reference: list[ReferenceAccuracy]
    sequences: list[SequenceReport]
    vtest: VtestReport | None
    person_alerts: dict[str, Any] | None = None  # evaluation.person_alerts

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def run_multiperson_eval(
    data_root: Path,
    config: PeopleConfig,
    sequences: Sequence[str] | None = None,
    vtest: bool = True,
    max_frames: int | None = None,
    tracks_out: Path | None = None,
    with_reference: bool = True,
    task_cache: Path = Path(".cache/mediapipe"),
    with_alerts: bool = False,
    skeletons_out: Path | None = None,
) -> MultipersonReport:
    """One person against MediaPipe's reference, every composited sequence (or those named), then
    vtest.avi; ``with_alerts``: per-person alerts on two-person skeleton replays
    (:mod:`evaluation.person_alerts`) and vtest's walking profile."""
    specs = [s for s in SEQUENCES if sequences is None or s.name in sequences]
    unknown = set(sequences or ()) - {s.name for s in SEQUENCES}
    if unknown:
        raise ValueError(f"unknown sequences {sorted(unknown)}; known: {[s.name for s in SEQUENCES]}")
    testdata = data_root / "mediapipe_pose_testdata"
    reference = reference_accuracy(testdata, config, task_cache) if with_reference else []
    reports = [evaluate_sequence(spec, testdata, config, max_frames) for spec in specs]
    backend = make_backend(OnnxRuntimeConfig()) if with_alerts else None
    vt = None
    if vtest:
        video = data_root / "opencv_vtest" / "vtest.avi"
        vt = evaluate_vtest(video, config, max_frames, tracks_out, backend, skeletons_out)
    alerts = run_person_alerts(str(data_root), backend, WorkerConfig()) if backend is not None else None
    return MultipersonReport(config.model_dump(), reference, reports, vt, alerts)


def format_report(report: MultipersonReport) -> str:
    lines = [
        f"pose_squats.mp4 vs MediaPipe's reference: {r.estimator} {r.frames_found}/65 frames, image p99 "
        f"{r.image_p99_px:.1f} px, world p99 {r.world_p99_m:.3f} m"
        for r in report.reference
    ]
    lines += [
        f"{'sequence':<22} {'person':<10} {'in view':>7} {'recall':>7} {'id sw':>5} {'sw/min':>6} {'extra/fr':>8} {'ms med':>7} {'ms p90':>7}"
    ]
    for s in report.sequences:
        for k, p in enumerate(s.people):
            lines.append(
                f"{s.name if k == 0 else '':<22} {p.person:<10} {p.frames_in_view:>7} {p.recall:>7.3f} "
                f"{p.id_switches:>5} {p.switches_per_minute:>6.2f} "
                + (
                    f"{s.extra_skeletons_per_frame:>8.2f} {s.ms_median:>7.1f} {s.ms_p90:>7.1f}"
                    if k == 0
                    else ""
                )
            )
    v = report.vtest
    if v is not None:
        lines += [
            "",
            f"vtest.avi: {v.frames} frames, {v.hand_counted_frames} counted by hand",
            f"  people (whole, >= {VTEST_MIN_HEIGHT_PX} px): {v.found}/{v.people} found (recall {v.recall:.3f})",
            f"  frames with >= 4 such people: {v.frames_with_4_found}/{v.frames_with_4} with >= 4 skeletons",
            f"  smaller or partly hidden people: {v.small_found}/{v.small_people} found",
            f"  skeletons on no counted person: {v.extra_skeletons_per_frame:.2f} per counted frame",
            f"  crossings: {len(v.crossings)}, people kept {sum(c.kept for c in v.crossings)}, switched "
            f"{sum(c.switched for c in v.crossings)}, unfound {sum(c.unfound for c in v.crossings)} "
            f"({v.crossing_switches_per_minute_per_person:.2f} switches per person per minute)",
            f"  ms per frame: median {v.ms_median:.1f}, p90 {v.ms_p90:.1f}",
            f"  tracker: {v.counters}",
        ]
        if v.walking is not None:
            w = v.walking
            lines.append(
                f"  walking profile from the first {w.enrol_s:.0f} s ({w.enrol_clips} stretches of "
                f"{w.enrol_people} people): {w.alerts} alerts on the rest ({w.windows_scored} windows of "
                f"{w.scored_people} people)"
            )
    a = report.person_alerts
    if a is not None:
        lines += [
            "",
            f"per-person alerts, one abnormal and one normal person (kinder-gator replays): {a['sequences']} sequences",
            f"  abnormal person alerted, normal person silent: {a['passed']}/{a['sequences']} ({a['pass_rate']:.3f})",
            f"  abnormal person recall {a['abnormal_person_recall']:.3f}, alert precision {a['alert_precision']:.3f}",
            f"  normal person's alerts {a['normal_person_alerts']} (alone: {a['normal_person_alone_alerts']}); "
            f"abnormal person's false alerts {a['abnormal_person_false_alerts']}",
            f"  abnormal person's episodes as when alone: {a['same_as_alone']}/{a['sequences']}",
        ]
    return "\n".join(lines)
