"""vtest.avi with a walking profile: enrolled from the first 30 s of the multi-person frontend's
skeletons (every tracked person's stretches), then the rest of the video scored per person by the
worker's own :class:`~edge.pipeline.Pipeline`. Everyone in the video walks, so every alert on the
rest is a false one (part of ``haad eval multiperson``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bus.messages import PersonSkeleton, SkeletonFrame
from clips import Clip
from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.enroll import build_profile
from edge.episodes import EpisodeEvent
from edge.pipeline import Pipeline, ScoredBatch
from edge.profiles import Profile

ENROL_S = 30.0


@dataclass(frozen=True)
class WalkReport:
    enrol_s: float
    enrol_clips: int  # tracked people's stretches (split where a person was not seen for max_gap_s)
    enrol_people: int
    threshold: float
    scored_people: int  # people with a scored window after the enrolment stretch
    windows_scored: int
    alerts: int
    alerted_people: list[int]


def track_clips(frames: Sequence[SkeletonFrame], max_gap_s: float) -> list[Clip]:
    """Each tracked person's stretches of skeleton, split where they were not seen for ``max_gap_s``."""
    runs: dict[int, list[tuple[float, np.ndarray]]] = {}
    clips: list[Clip] = []

    def close(pid: int) -> None:
        run = runs.pop(pid)
        times = np.array([t for t, _ in run])
        clips.append(
            Clip(np.stack([j for _, j in run]), times, "walking", f"track{pid}", f"track{pid}@{times[0]:.1f}")
        )

    for f in frames:
        for p in f.people:
            run = runs.get(p.person_id)
            if run is not None and f.timestamp - run[-1][0] > max_gap_s:
                close(p.person_id)
            runs.setdefault(p.person_id, []).append((f.timestamp, p.joints))
    for pid in list(runs):
        close(pid)
    return clips


def enrol_walking(
    frames: Sequence[SkeletonFrame], backend: EncoderBackend, cfg: WorkerConfig, enrol_s: float = ENROL_S
) -> tuple[list[Clip], Profile]:
    """The walking profile of the first ``enrol_s`` of ``frames``, and the track clips it is enrolled from."""
    t0 = frames[0].timestamp
    clips = track_clips([f for f in frames if f.timestamp - t0 < enrol_s], cfg.max_gap_s)
    profile = build_profile(
        "walking", clips, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
    )
    return clips, profile


def score_rest(
    frames: Sequence[SkeletonFrame],
    profile: Profile,
    backend: EncoderBackend,
    cfg: WorkerConfig,
    enrol_s: float = ENROL_S,
) -> tuple[Pipeline, list[ScoredBatch], list[EpisodeEvent]]:
    """``frames`` after the first ``enrol_s`` through the worker's pipeline against ``profile``: the
    pipeline, every batch it scored (streams finished at the end), and the episodes closed after them."""
    t0 = frames[0].timestamp
    pipeline = Pipeline(cfg, backend, [profile], clock=lambda: 0.0)
    batches = []
    for i, f in enumerate(x for x in frames if x.timestamp - t0 >= enrol_s):
        pipeline.push(f)
        if i % 64 == 63:
            batches += pipeline.run_due(flush=True)
    pipeline.finish_streams()
    batches += pipeline.run_due(flush=True)
    return pipeline, batches, pipeline.tracker.close_all()


def walking_profile_run(
    frames: Sequence[SkeletonFrame], backend: EncoderBackend, cfg: WorkerConfig, enrol_s: float = ENROL_S
) -> WalkReport:
    clips, profile = enrol_walking(frames, backend, cfg, enrol_s)
    pipeline, batches, closing = score_rest(frames, profile, backend, cfg, enrol_s)
    opened = [e for e in (*(e for b in batches for e in b.events), *closing) if e.kind == "opened"]
    return WalkReport(
        enrol_s=enrol_s,
        enrol_clips=len(clips),
        enrol_people=len({c.subject for c in clips}),
        threshold=profile.threshold,
        scored_people=len(pipeline.stats.windows),
        windows_scored=pipeline.stats.windows_scored,
        alerts=len(opened),
        alerted_people=sorted({e.episode.person for e in opened}),
    )


def save_frames(path: Path, frames: Sequence[SkeletonFrame]) -> None:
    """The frontend's frames of a video as an npz (``haad eval multiperson --skeletons-out``), so the
    walking profile can be scored again without running MediaPipe (:func:`load_frames`)."""
    people = [p for f in frames for p in f.people]
    nan_box = (np.nan,) * 4
    np.savez_compressed(
        path,
        times=np.array([f.timestamp for f in frames], np.float64),
        counts=np.array([len(f.people) for f in frames], np.int32),
        person_ids=np.array([p.person_id for p in people], np.uint32),
        joints=np.array([p.joints for p in people], np.float32).reshape(-1, 20, 3),
        visibility=np.array([p.visibility for p in people], np.float32).reshape(-1, 20),
        boxes=np.array([p.box if p.box is not None else nan_box for p in people], np.float64).reshape(-1, 4),
    )


def load_frames(path: Path, stream_id: str = "video") -> list[SkeletonFrame]:
    with np.load(path, allow_pickle=False) as z:
        times, counts, ids = z["times"], z["counts"], z["person_ids"]
        joints, visibility, boxes = z["joints"], z["visibility"], z["boxes"]
    frames, k = [], 0
    for seq, (t, n) in enumerate(zip(times, counts, strict=True)):
        people = tuple(
            PersonSkeleton(
                int(ids[i]), joints[i], visibility[i], None if np.isnan(boxes[i]).any() else tuple(boxes[i])
            )  # type: ignore[arg-type]
            for i in range(k, k + int(n))
        )
        frames.append(SkeletonFrame.of_people(stream_id, seq, float(t), people, sent_at=0.0))
        k += int(n)
    return frames
