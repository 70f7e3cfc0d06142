"""A config file a command cannot load is refused as every other haad CLI error is: ``error: ...``
on stderr, exit 2 (it was the loader's message alone: "invalid configuration:", "configuration file
not found: ...")."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from haad.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "text", "said"),
    [
        (["alerts", "list", "--config"], None, "error: configuration file not found: "),
        (["config", "validate"], "streams: [{id: cam, sorce: {}}]\n", "error: invalid configuration:\n  "),
        (["config", "validate"], "streams: [\n", "error: "),
        (["frontend", "run"], None, "error: configuration file not found: "),
        (["config", "validate", "--frontend"], "worker: {}\n", "error: invalid configuration:\n  "),
        (["frontend", "record", "--max-seconds", "1", "--out", "x.npz"], "streams: [\n", "error: "),
    ],
)
def test_a_config_that_cannot_be_loaded_is_an_error_line(
    tmp_path: Path, command: list[str], text: str | None, said: str
) -> None:
    path = tmp_path / "edge.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, [*command, str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(said) and str(path) in result.stderr, result.stderr
