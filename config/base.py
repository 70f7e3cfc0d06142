"""The base every configuration model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
