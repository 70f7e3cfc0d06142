"""Feeding the interrupted tests' frames through a worker's pipeline, and what a killed one leaves."""

from __future__ import annotations

from collections.abc import Sequence

from bus.messages import SkeletonFrame
from edge.episodes import Episode, EpisodeEvent
from edge.pipeline import Pipeline


def feed(pipeline: Pipeline, frames: Sequence[SkeletonFrame]) -> list[EpisodeEvent]:
    """Every episode event of ``frames`` pushed one by one, each scored as soon as it is due."""
    events = []
    for f in frames:
        pipeline.push(f)
        events += [e for b in pipeline.run_due(flush=True) for e in b.events]
    return events


def left_open(events: Sequence[EpisodeEvent]) -> list[Episode]:
    """What a killed worker leaves in the outbox: the latest state of each episode not closed."""
    latest = {e.episode.episode_id: e.episode for e in events}
    closed = {e.episode.episode_id for e in events if e.kind == "closed"}
    return [ep for k, ep in latest.items() if k not in closed]
