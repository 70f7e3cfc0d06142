"""``haad config validate`` takes the file as the other commands do too (``--config``)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from haad.cli import app


def test_validate_takes_config_as_run_enroll_serve_and_alerts_do(tmp_path: Path) -> None:
    # `haad config validate --config edge.yaml` was "No such option: --config" (exit 2).
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump({"streams": [{"id": "cam"}], "state_dir": str(tmp_path / "state")}))
    runner = CliRunner()
    by_option = runner.invoke(app, ["config", "validate", "--config", str(path)])
    assert by_option.exit_code == 0 and f"{path}: valid (1 stream(s), store sqlite)" in by_option.output
    by_argument = runner.invoke(app, ["config", "validate", str(path)])
    assert by_argument.exit_code == 0 and by_argument.output == by_option.output
    for neither_or_both in ([], [str(path), "--config", str(path)]):
        r = runner.invoke(app, ["config", "validate", *neither_or_both])
        assert r.exit_code == 2 and "give one edge.yaml to check: haad config validate edge.yaml" in r.output
