"""Where an alert's score timeline has a hole: a stretch of its stream with no frames that the episode
waited across (edge/episodes.py), so no score is known there. The timeline keeps only its points, so a
hole is read from them: consecutive points further apart than ``HOLE_SPACINGS`` times the timeline's
usual spacing and than ``HOLE_MIN_S``.

Why those: the points are windows' moments, ``stride`` apart (0.25 s), or a merged long timeline's
(edge/episodes.py ``_Timeline``) at most twice its spacing apart; a score decided by a window's last
second sits up to about 1.25 s after the next windows' middles. A hole of ``max_gap_s`` or more puts
the window before it and the first one after it over half a window each from its edges, so its
points are over 2 s apart."""

from __future__ import annotations

import numpy as np

HOLE_SPACINGS = 3.0
HOLE_MIN_S = 2.0


def timeline_holes(timeline: np.ndarray | None) -> list[tuple[float, float]]:
    """The holes of a ``(N, 2)`` timeline (source seconds, score), each as (the last moment scored
    before it, the first after it)."""
    if timeline is None or len(timeline) < 3:  # two points: no usual spacing to compare with
        return []
    t = np.asarray(timeline, dtype=np.float64)[:, 0]
    gaps = np.diff(t)
    usual = float(np.sort(gaps)[(len(gaps) - 1) // 2])  # the lower median: of two gaps, the shorter
    at = np.flatnonzero(gaps > max(HOLE_SPACINGS * usual, HOLE_MIN_S))
    return [(float(t[i]), float(t[i + 1])) for i in at]
