"""deploy/Dockerfile (not built in CI: no Docker engine) copies every package pyproject.toml installs,
from paths that exist, and installs the lean edge install, as a camera host needs; the
``--metrics-host`` its command gives is checked as metrics.host is."""

from __future__ import annotations

import shlex
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.edge import EdgeConfig
from haad.cli import app

ROOT = Path(__file__).resolve().parents[3]


def instructions() -> list[tuple[str, list[str]]]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(word, shlex.split(rest)) for word, rest in lines]


def test_the_image_copies_what_pip_installs_and_installs_no_torch() -> None:
    copied = {args[0] for word, args in instructions() if word == "COPY"}
    assert all((ROOT / path).exists() for path in copied), copied
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    installed = {t for t in tops if any(fnmatch(t, pattern) for pattern in packages["include"])}
    assert installed and installed <= copied, installed - copied
    pip = [args for word, args in instructions() if word == "RUN" and "pip" in args]
    pip_args = [a for args in pip for a in args if not a.startswith("-") and a not in ("pip", "install")]
    assert pip_args == ["."], pip_args  # not torch, not an extra: the daemon runs without them


def test_the_metrics_host_flag_is_checked_as_the_setting_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--metrics-host ""`` (an unset variable in a container's command) bound every address."""
    import edge.daemon

    started: list[str] = []

    class Recorder:
        def __init__(self, cfg: EdgeConfig) -> None:
            started.append(cfg.metrics.host)

        def run(self) -> int:
            return 0

    monkeypatch.setattr(edge.daemon, "Daemon", Recorder)
    config = tmp_path / "edge.yaml"
    config.write_text("metrics: {port: 9108}\n")
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--metrics-host", ""])
    assert result.exit_code == 2 and "Invalid value for '--metrics-host'" in result.output, result.output
    assert started == []
    assert (
        CliRunner().invoke(app, ["run", "--config", str(config), "--metrics-host", "0.0.0.0"]).exit_code == 0
    )
    assert started == ["0.0.0.0"]
