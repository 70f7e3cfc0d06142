"""Pose only as often as the windows need: which frames of a stream get a pose estimate.

The worker resamples every stream to the window rate (20 fps); estimating pose on a 30 fps camera's
every frame spends a third of the frontend's CPU on frames the resampling then blends away. A
:class:`RateGate` keeps a frame when its own timestamp reaches the next due time and then moves that
time on by one period, so a 30 fps source at 20 fps keeps two frames of three and every kept frame
keeps its exact timestamp (nothing is re-timed). A gap in the source restarts the schedule.
"""

from __future__ import annotations

# A timestamp this close before the due time counts as on time (container times are rounded to ms).
_TOLERANCE_S = 1e-3


class RateGate:
    """``take(t)``: whether the frame at source time ``t`` (rising) gets a pose estimate, at most
    ``fps`` per second on average; ``fps`` None keeps every frame."""

    def __init__(self, fps: float | None) -> None:
        if fps is not None and not fps > 0:
            raise ValueError(f"pose rate must be positive; got {fps}")
        self.fps = fps
        self.period = None if fps is None else 1.0 / fps
        self.due: float | None = None

    def take(self, t: float) -> bool:
        if self.period is None:
            return True
        if self.due is not None and t < self.due - _TOLERANCE_S:
            return False
        # On schedule: the next one is a period after the due time (keeps the average rate); after a
        # gap longer than a period, a period after this frame.
        self.due = (
            t + self.period if self.due is None or t - self.due > self.period else self.due + self.period
        )
        return True
