"""Several people in one stream from single-person recordings: skeleton replays with known identities.

Each person is a recording (canonical joints and their times) that starts at a given offset on the
stream's clock; the stream's frames come at the first person's median frame step (or on a given
grid), and every person in view at a frame time contributes their pose interpolated at it, as a
camera would see them all at its own frame times. The people stand side by side, so each gets a fixed
image-space box of their own (the replays hold no image). What a multi-person frontend would publish,
with the identities known, for ``haad eval multiperson`` and the worker's tests.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bus.messages import Box, PersonSkeleton, SkeletonFrame
from models.preprocess import interpolate_at
from models.skeleton import NUM_JOINTS

_EPS = 1e-6


@dataclass(frozen=True, eq=False)
class Replayed:
    """One person of a mixed stream: ``joints`` ``(T, 20, 3)`` at ``times`` ``(T,)`` (seconds from
    the recording's start), shown from ``start`` (stream seconds) on."""

    person_id: int
    joints: np.ndarray
    times: np.ndarray
    start: float = 0.0

    @property
    def end(self) -> float:
        return self.start + float(self.times[-1] - self.times[0])


def side_by_side_box(slot: int, n_slots: int) -> Box:
    """The box of the ``slot``-th of ``n_slots`` people standing side by side."""
    width = 1.0 / n_slots
    return slot * width + 0.1 * width, 0.1, (slot + 1) * width - 0.1 * width, 0.95


def frame_grid(people: Sequence[Replayed]) -> np.ndarray:
    """Frame times covering every person, at the first person's median frame step."""
    step = float(np.median(np.diff(people[0].times)))
    return np.arange(min(p.start for p in people), max(p.end for p in people) + step / 2, step)


def mix_people(
    people: Sequence[Replayed], stream_id: str = "mix", grid: np.ndarray | None = None
) -> list[SkeletonFrame]:
    """The frames of one stream holding ``people`` at ``grid`` times (default :func:`frame_grid`);
    a frame time where nobody is in view gives a frame without a person."""
    if not people:
        raise ValueError("need at least one person")
    grid = frame_grid(people) if grid is None else grid
    visibility = np.ones(NUM_JOINTS, np.float32)
    poses, shown = [], []
    for p in people:
        inside = (grid >= p.start - _EPS) & (grid <= p.end + _EPS)  # frame times carry float rounding
        posed = np.full((len(grid), NUM_JOINTS, 3), np.nan, np.float32)
        posed[inside] = interpolate_at(p.joints, p.times, p.times[0] + grid[inside] - p.start)
        poses.append(posed)
        shown.append(inside)
    frames = []
    for seq, t in enumerate(grid):
        skeletons = tuple(
            PersonSkeleton(p.person_id, poses[slot][seq], visibility, side_by_side_box(slot, len(people)))
            for slot, p in enumerate(people)
            if shown[slot][seq]
        )
        frames.append(SkeletonFrame.of_people(stream_id, seq, float(t), skeletons, sent_at=time.time()))
    return frames
