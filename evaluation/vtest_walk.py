"""vtest.avi with a walking profile: enrolled from the first 30 s of the multi-person frontend's
skeletons (every tracked person's stretches), then the rest of the video scored per person by the
worker's own :class:`~edge.pipeline.Pipeline`. Everyone in the video walks, so every alert on the
rest is a false one (part of ``haad eval multiperson``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bus.messages import SkeletonFrame
from clips import Clip
from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.enroll import build_profile
from edge.pipeline import Pipeline

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


def walking_profile_run(
    frames: Sequence[SkeletonFrame], backend: EncoderBackend, cfg: WorkerConfig, enrol_s: float = ENROL_S
) -> WalkReport:
    t0 = frames[0].timestamp
    clips = track_clips([f for f in frames if f.timestamp - t0 < enrol_s], cfg.max_gap_s)
    profile = build_profile(
        "walking", clips, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
    )
    pipeline = Pipeline(cfg, backend, [profile], clock=lambda: 0.0)
    opened = []
    for i, f in enumerate(x for x in frames if x.timestamp - t0 >= enrol_s):
        pipeline.push(f)
        if i % 64 == 63:
            opened += [e for b in pipeline.run_due(flush=True) for e in b.events if e.kind == "opened"]
    opened += [e for e in pipeline.close_all() if e.kind == "opened"]
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
