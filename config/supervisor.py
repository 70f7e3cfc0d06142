"""How a crashed process is started again, and given up: the daemon's children (``haad run``), a
frontend host's streams (``haad frontend run``) and the cameras packed into one process."""

from __future__ import annotations

from pydantic import Field, model_validator

from config.base import StrictModel


class SupervisorConfig(StrictModel):
    """How crashed children (processes, or packed cameras) are restarted and stopped."""

    initial_backoff_s: float = Field(1.0, gt=0, le=600, description="Wait before restarting a crashed child.")
    max_backoff_s: float = Field(60.0, gt=0, le=3600, description="Longest wait; the wait doubles per crash.")
    stable_after_s: float = Field(
        60.0, gt=0, le=86_400, description="A child that ran this long is healthy again: its backoff resets."
    )
    stop_timeout_s: float = Field(
        10.0, gt=0, le=600, description="How long a child may take to stop before it is terminated."
    )
    give_up_after: int = Field(
        5, ge=1, le=1000, description="A child failing this many times within give_up_window_s is given up."
    )
    give_up_window_s: float = Field(
        60.0, gt=0, le=86_400, description="The window of give_up_after (a source that can never work)."
    )

    @model_validator(mode="after")
    def _initial_within_max(self) -> SupervisorConfig:
        if self.initial_backoff_s > self.max_backoff_s:
            raise ValueError("initial_backoff_s must not exceed max_backoff_s")
        return self
