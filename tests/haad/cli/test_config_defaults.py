"""``haad config defaults`` prints every setting: those of the sections that are off by default
(null or [] in the file) follow as comments, each a valid section once uncommented (the rest round
trips: tests/haad/test_cli.py)."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from config.bus import CurveConfig
from config.events import MqttConfig, WebhookConfig
from config.serve import ServeConfig
from haad.cli import app


def test_defaults_name_the_settings_of_sections_that_are_off() -> None:
    result = CliRunner().invoke(app, ["config", "defaults"])
    assert result.exit_code == 0, result.output
    _, header, block = result.output.partition("# Off by default")
    assert header, result.output
    off = yaml.safe_load("\n".join(line.removeprefix("# ") for line in block.splitlines()[1:]))
    assert set(CurveConfig.model_fields) == set(off["bus"]["curve"])
    ServeConfig.model_validate(off["serve"])
    MqttConfig.model_validate(off["events"]["mqtt"])
    WebhookConfig.model_validate(off["events"]["webhooks"][0])
