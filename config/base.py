"""The base every configuration model derives from."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

# A path in a configuration file: "~" is the home folder of the user reading it, as in a shell (taken
# literally, it made a folder named "~" beside the file).
UserPath = Annotated[str, AfterValidator(os.path.expanduser)]


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
