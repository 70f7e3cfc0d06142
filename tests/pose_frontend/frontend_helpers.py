"""Helpers of the pose-frontend tests."""

from __future__ import annotations

from bus.messages import SkeletonFrame


class Collect:
    """Publisher stand-in for the in-process loop tests (the bus itself is tested end to end)."""

    def __init__(self) -> None:
        self.frames: list[SkeletonFrame] = []

    def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
        self.frames.append(frame)
        return True
