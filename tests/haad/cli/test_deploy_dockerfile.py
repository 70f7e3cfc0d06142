"""deploy/Dockerfile (not built in CI: no Docker engine) copies every package pyproject.toml installs,
from paths that exist, and installs the lean edge install, as a camera host needs."""

from __future__ import annotations

import shlex
import tomllib
from fnmatch import fnmatch
from pathlib import Path

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
