"""The one rule for stretches of skeleton shorter than a window, shared by the live path and enrolment.

A *segment* is a stretch of skeleton without a break: a live stream between two resets, or a
recorded clip. It is measured in frames resampled to ``spec.fps``; ``n`` frames are ``n / spec.fps``
seconds of skeleton (a 60-frame window at 20 fps is 3 s). A segment is scored once it holds
:func:`min_segment_frames` frames (``worker.min_segment_s``, 1 s by default); until it fills a
window it is made into one by :func:`models.preprocess.cut_windows`, the very function that cuts
enrolment clips, so whatever that function does with a short clip (pad, re-time) the live path does
too. Enrolment refuses clips under the same minimum: no support window is one live never produces.
"""

from __future__ import annotations

import math

from models.preprocess import WindowSpec

_EPS = 1e-6


def min_segment_frames(spec: WindowSpec, min_segment_s: float) -> int:
    """Resampled frames a segment needs before it is scored (at least 1)."""
    return max(1, math.ceil(min_segment_s * spec.fps - _EPS))


def frames_in_span(span_s: float, spec: WindowSpec) -> int:
    """Resampled frames of a stretch whose first and last frames are ``span_s`` apart (the length
    :func:`models.preprocess.resample` gives it)."""
    return math.floor(max(span_s, 0.0) * spec.fps + _EPS) + 1


def skeleton_seconds(n_frames: int, spec: WindowSpec) -> float:
    """Seconds of skeleton in ``n_frames`` resampled frames (60 frames at 20 fps: 3.0 s)."""
    return n_frames / spec.fps


def too_short(seconds: float, min_segment_s: float) -> str:
    """Why a stretch of ``seconds`` is not scored, in words a user can act on."""
    return f"{seconds:.2f} s of skeleton; windows need at least {min_segment_s:g} s (worker.min_segment_s)"
