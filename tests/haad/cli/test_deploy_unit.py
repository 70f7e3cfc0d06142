"""deploy/haad.service runs the CLI as it is, in the folders deploy/edge.example.yaml names, and a
deployment that cannot run is not restarted in a loop."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from haad.cli import app

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
runner = CliRunner()


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / "haad.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this host")
def test_systemd_reads_every_setting_of_the_unit(tmp_path: Path) -> None:
    """A misspelt key or a bad value is only a warning, logged as systemd ignores it (exit 0 too): a
    sandbox setting would be silently off. ExecStart must name a program that exists: this venv's."""
    binary = shlex.split(unit_settings()["ExecStart"][0])[0]
    unit = tmp_path / "haad.service"
    here = str(Path(sys.executable).parent / Path(binary).name)
    unit.write_text((DEPLOY / "haad.service").read_text().replace(binary, here))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and not result.stdout + result.stderr, result.stdout + result.stderr


def test_a_deployment_that_cannot_run_exits_from_the_main_process_with_a_code_not_restarted(
    tmp_path: Path,
) -> None:
    unit = unit_settings()
    # A failing ExecStartPre is restarted whatever its code: RestartPreventExitStatus reads only the
    # main process's.
    assert not {k for k in unit if k.startswith("ExecStart") and k != "ExecStart"}, unit
    binary, *args = shlex.split(unit["ExecStart"][0])
    assert binary == "/opt/haad/.venv/bin/haad"
    bad = tmp_path / "edge.yaml"
    bad.write_text("strems: []\n")
    result = runner.invoke(app, [str(bad) if a == "/etc/haad/edge.yaml" else a for a in args])
    assert result.exit_code == 2 and "strems: Extra inputs are not permitted" in result.output
    assert str(result.exit_code) in unit["RestartPreventExitStatus"][0].split()


def test_the_example_configuration_keeps_its_state_where_the_unit_lets_it_write() -> None:
    unit = unit_settings()
    state = Path("/var/lib") / unit["StateDirectory"][0]
    assert unit["WorkingDirectory"] == [str(state)] and str(state) in unit["ReadWritePaths"][0].split()
    example = yaml.safe_load((DEPLOY / "edge.example.yaml").read_text())
    written = [example["state_dir"], example["profiles_dir"], make_url(example["store"]["url"]).database]
    assert all(Path(p).is_relative_to(state) for p in written), written


def test_env_secrets_have_a_file_the_unit_reads_beside_the_configuration() -> None:
    """edge.yaml's {env: NAME} secrets: the service's environment is the unit's, not the shell's."""
    unit = unit_settings()
    (env_file,) = unit["EnvironmentFile"]
    assert Path(env_file.removeprefix("-")).parent == Path("/etc") / unit["ConfigurationDirectory"][0]


def test_a_stop_signals_the_daemon_alone_which_stops_its_children_in_order() -> None:
    """A frontend has no SIGTERM handler (the daemon's stop event ends it once it sent what it
    holds): signalled with the daemon, as KillMode=control-group does, it died with its frames."""
    assert unit_settings()["KillMode"] == ["mixed"]
