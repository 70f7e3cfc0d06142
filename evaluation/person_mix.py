"""Several people in one stream from single-person recordings: skeleton replays with known identities.

Each person is a recording (canonical joints and their times) that starts at a given offset on the
stream's clock; the stream's frames follow the first person's frame times, and every person in view
at a frame time contributes their nearest frame. The people stand side by side, so each gets a fixed
image-space box of their own (the replays hold no image). What a multi-person frontend would publish,
with the identities known, for ``haad eval multiperson`` and the worker's tests.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bus.messages import Box, PersonSkeleton, SkeletonFrame
from models.skeleton import NUM_JOINTS


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


def mix_people(people: Sequence[Replayed], stream_id: str = "mix") -> list[SkeletonFrame]:
    """The frames of one stream holding ``people`` (see the module docstring); a frame time where
    nobody is in view gives a frame without a person."""
    if not people:
        raise ValueError("need at least one person")
    first = people[0]
    step = float(np.median(np.diff(first.times)))
    grid = np.arange(min(p.start for p in people), max(p.end for p in people) + step / 2, step)
    visibility = np.ones(NUM_JOINTS, np.float32)
    frames = []
    for seq, t in enumerate(grid):
        skeletons = []
        for slot, p in enumerate(people):
            if not p.start <= t <= p.end:
                continue
            rel = p.times[0] + (t - p.start)
            i = min(int(np.searchsorted(p.times, rel)), len(p.times) - 1)
            if i > 0 and rel - p.times[i - 1] < p.times[i] - rel:
                i -= 1
            box = side_by_side_box(slot, len(people))
            skeletons.append(PersonSkeleton(p.person_id, p.joints[i], visibility, box))
        frames.append(
            SkeletonFrame.of_people(stream_id, seq, float(t), tuple(skeletons), sent_at=time.time())
        )
    return frames
