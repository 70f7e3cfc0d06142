"""An alert open at a looped file's seam (pose_frontend/sources.py: the next pass starts 10 s and a
frame after the last one ended) follows the worker's rule for holes (edge/episodes.py): a next pass
that starts hot goes on with it, one alert across the seam whose timeline shows the seam as a hole
(edge/timeline_holes.py); one that starts cold closes it at its last hot window before the seam.

The real frontend loop performs a synthetic script looped (each pass with the next seed), and the
worker's pipeline scores it frame by frame with the bundled encoder against the bundled demo-walk
profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from config.backend import OnnxRuntimeConfig
from config.frontend import MotionStep, SyntheticSourceConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.demo import PROFILES_DIR
from edge.episodes import Episode, EpisodeEvent
from edge.pipeline import Pipeline
from edge.profiles import ProfileStore
from edge.timeline_holes import timeline_holes
from tests.pose_frontend.test_looped_seams import _looped

FPS = 30.0


def _alerts(
    script: list[tuple[str, float]], passes: float, tmp_path: Path
) -> tuple[list[EpisodeEvent], float]:
    """Each alert's last event (what its row ends up as) over ``passes`` passes of ``script`` looped,
    and where the second pass starts (source seconds)."""
    source = SyntheticSourceConfig(
        script=[MotionStep(motion=m, seconds=s) for m, s in script], fps=FPS, loop=True, realtime=False
    )
    per_pass = round(sum(s for _, s in script) * FPS)
    frames = _looped(source, round(passes * per_pass))
    backend = make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path / "onnx")))
    profile = ProfileStore(PROFILES_DIR).load("demo-walk")
    pipeline = Pipeline(WorkerConfig(), backend, [profile], clock=lambda: 0.0)
    events: list[EpisodeEvent] = []
    for frame in frames:
        pipeline.push(frame)
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    events += pipeline.close_all()
    return list({e.episode.episode_id: e for e in events}.values()), frames[per_pass].timestamp


def _spans(alerts: list[EpisodeEvent]) -> list[tuple[float, float, str | None]]:
    return [(round(e.episode.start, 2), round(e.episode.end, 2), e.close_reason) for e in alerts]


def _hole(episode: Episode) -> list[tuple[float, float]]:
    return timeline_holes(np.asarray(episode.timeline))


def test_an_action_hot_on_both_sides_of_a_seam_is_one_alert_with_the_seam_a_hole_in_its_timeline(
    tmp_path: Path,
) -> None:
    # each pass flails at its start and at its end: the first pass's last flail goes on, after the
    # seam, as the second pass's first
    alerts, seam = _alerts([("jump_flail", 4.0), ("walk_in_place", 8.0), ("jump_flail", 4.0)], 1.6, tmp_path)
    across = [e for e in alerts if e.episode.start < seam < e.episode.end]
    assert len(across) == 1, _spans(alerts)
    (episode,) = [e.episode for e in across]
    assert episode.start < seam - 10.0 and episode.end > seam  # both flails, one alert
    ((before, after),) = _hole(episode)  # no score inside the seam: the plot shades it "no frames"
    assert before < seam - 10.0 and after > seam
    assert [e.close_reason for e in across] == ["cold"]  # it closed on the next walk, not at the seam


def test_an_action_hot_before_a_seam_only_closes_at_its_last_hot_window_before_the_seam(
    tmp_path: Path,
) -> None:
    # each pass walks, then flails to its end: the next pass starts walking (cold)
    alerts, seam = _alerts([("walk_in_place", 8.0), ("jump_flail", 4.0)], 1.9, tmp_path)
    at_seam = [e for e in alerts if e.episode.start < seam - 10.0 < e.episode.end + 1.0]
    assert len(at_seam) == 1, _spans(alerts)
    (event,) = at_seam
    assert event.close_reason == "cold" and event.episode.end < seam - 10.0  # nothing of the seam in it
    assert [e for e in alerts if e.episode.start < seam < e.episode.end] == []
    # its timeline runs on to the cold windows after the seam, which closed it: the seam is a hole there
    ((before, after),) = _hole(event.episode)
    assert before < seam - 10.0 and after > seam
