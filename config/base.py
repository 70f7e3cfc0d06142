"""The base every configuration model derives from."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

# A path in a configuration file: "~" is the home folder of the user reading it, as in a shell (taken
# literally, it made a folder named "~" beside the file). Never empty: "" was the working directory
# (caches written there), or, where null means a default (encoder: the bundled one), that default.
UserPath = Annotated[str, StringConstraints(min_length=1), AfterValidator(os.path.expanduser)]
# The bus's stream-id rule (bus/messages.py), checked here too so that a bad id is reported with its
# YAML line at load time (a stream's id, and the streams a bus.curve.senders key may send).
StreamId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
