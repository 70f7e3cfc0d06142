"""``haad alerts list/show/export --help`` say what their --config is read for: the store. They said
"(and profiles_dir, encoder for --normal)", an option only ``review`` takes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from haad.cli import app


@pytest.mark.parametrize("command", ["list", "show", "export", "review"])
def test_config_help_names_normal_only_where_the_command_takes_it(command: str) -> None:
    r = CliRunner().invoke(app, ["alerts", command, "--help"], terminal_width=200)
    assert r.exit_code == 0, r.output
    (config,) = [line for line in r.stdout.splitlines() if line.strip().startswith("--config")]
    takes_normal = any(line.strip().startswith("--normal") for line in r.stdout.splitlines())
    assert takes_normal == (command == "review")
    assert ("--normal" in config) == takes_normal, config
