"""``haad config validate`` (and ``haad run`` before it starts) names a folder of the deployment that
a file stands in for: validate passed, then the daemon refused to start or the worker failed."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from haad.cli import app

runner = CliRunner()


def test_a_file_where_the_state_alert_log_or_profile_folder_goes_is_a_problem(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    path = tmp_path / "edge.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "streams": [{"id": "cam"}],
                "state_dir": str(a_file),
                "store": {"url": f"sqlite:///{a_file}/alerts/haad.db"},
                "profiles_dir": str(a_file),
            }
        )
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2, result.output
    for where in ("state_dir", "store.url", "profiles_dir"):
        assert f"{path}: {where}: {a_file} is a file, not a folder" in result.output, result.output
    path.write_text(
        yaml.safe_dump({"streams": [{"id": "cam"}], "state_dir": str(tmp_path / "new" / "state")})
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output  # a folder not there yet is made at start
