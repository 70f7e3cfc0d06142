"""deploy/Dockerfile (not built in CI: no Docker engine) copies every package pyproject.toml installs,
from paths that exist, and installs the lean edge install, as a camera host needs; the build context
leaves out the checkout's bulk, never a file the image copies; the state lives in a volume, and a
``docker stop`` waits as long as systemd does; the ``--metrics-host`` its command gives is checked as
metrics.host is."""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from config.edge import EdgeConfig
from haad.cli import app
from tests.haad.cli.test_deploy_unit import unit_settings

ROOT = Path(__file__).resolve().parents[3]


def instructions() -> list[tuple[str, list[str]]]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(word, shlex.split(rest)) for word, rest in lines]


def test_the_image_copies_what_pip_installs_and_installs_no_torch() -> None:
    copied = {src for word, args in instructions() if word == "COPY" for src in args[:-1]}
    assert all((ROOT / path).exists() for path in copied), copied
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    installed = {t for t in tops if any(fnmatch(t, pattern) for pattern in packages["include"])}
    assert installed and installed <= copied, installed - copied
    pip = [args for word, args in instructions() if word == "RUN" and "pip" in args]
    pip_args = [a for args in pip for a in args if not a.startswith("-") and a not in ("pip", "install")]
    assert pip_args == ["."], pip_args  # not torch, not an extra: the daemon runs without them


def test_the_base_image_has_a_python_the_project_installs_on() -> None:
    (image,) = [args[0] for word, args in instructions() if word == "FROM"]
    name, tag = image.split(":")
    version = tag.split("-")[0]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert name == "python" and version in SpecifierSet(requires), (image, requires)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves ``path`` out of the build context: a pattern matching it or a
    folder above it (fnmatch's ``*`` also crosses ``/``: stricter than Docker, never laxer here)."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch(prefix, pattern) or fnmatch(prefix, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


def test_the_build_context_leaves_out_the_bulk_and_keeps_every_file_the_image_copies() -> None:
    """Without a .dockerignore the whole checkout went to the builder, its virtualenv (2+ GB) too."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "negations: not read by ignored()"
    assert all(ignored(p, patterns) for p in (".venv", ".git", "runs", "edge/__pycache__/x.pyc"))
    copied = [src for word, args in instructions() if word == "COPY" for src in args[:-1]]
    tracked = subprocess.run(
        ["git", "ls-files", "--", *copied], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked and not [f for f in tracked if ignored(f, patterns)]


def test_the_example_state_is_kept_in_the_volume() -> None:
    """Without a VOLUME, a container run without -v lost its profiles and its alert outbox with it."""
    (volume,) = [Path(a) for word, args in instructions() if word == "VOLUME" for a in args]
    workdir = [args[0] for word, args in instructions() if word == "WORKDIR"][-1]
    assert Path(workdir) == volume  # relative settings (caches, a bare SQLite name) land in it
    example = yaml.safe_load((ROOT / "deploy" / "edge.example.yaml").read_text())
    written = [example["state_dir"], example["profiles_dir"], make_url(example["store"]["url"]).database]
    assert all(Path(p).is_relative_to(volume) for p in written), written


def test_docker_stop_waits_for_the_daemon_as_systemd_does() -> None:
    """The usage's docker run left docker stop's 10 s: SIGKILL before the worker (up to 30 s) had
    scored what was queued and handed its open alerts over. Without --init haad is PID 1, which
    ignores a SIGTERM until its handler is set (~3 s into a start); under systemd one stops it at once."""
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n#", " ")
    (run,) = [shlex.split(line.lstrip("# ")) for line in text.splitlines() if "docker run" in line]
    timeout = int(run[run.index("--stop-timeout") + 1]) if "--stop-timeout" in run else 10
    assert timeout >= int(unit_settings()["TimeoutStopSec"][0]) and "--init" in run, run


def test_the_image_sets_the_environment_the_unit_sets() -> None:
    """The unit ran the daemon with OMP_NUM_THREADS=1; the image left it unset (a BLAS thread per
    host core in every process)."""
    env = {
        a.split("=", 1)[0]: a.split("=", 1)[1] for word, args in instructions() if word == "ENV" for a in args
    }
    unit = dict(e.split("=", 1) for line in unit_settings()["Environment"] for e in shlex.split(line))
    assert unit and unit.items() <= env.items(), (unit, env)


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
