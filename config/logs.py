"""How a haad process logs (edge.yaml's and a frontend host's ``logging`` section)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import StrictModel


class LoggingConfig(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    format: Literal["json", "text"] = Field("json", description="One JSON object per line, or plain text.")
