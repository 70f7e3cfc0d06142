"""``haad keys`` on a camera host: an existing key is never replaced, a secret one is private from its
first byte, and a bad name or folder is a clear error, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zmq.auth
from typer.testing import CliRunner

from haad.cli import app

runner = CliRunner()


def test_a_client_key_is_not_remade_once_its_secret_went_to_the_frontend_host(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert runner.invoke(app, ["keys", "client", "dock", str(keys)]).exit_code == 0
    authorized = (keys / "authorized" / "dock.key").read_bytes()
    (keys / "dock.key_secret").rename(tmp_path / "copied-to-the-frontend-host")
    result = runner.invoke(app, ["keys", "client", "dock", str(keys)])
    assert result.exit_code == 1
    assert "authorized/dock.key exists; keys are never overwritten" in result.output
    assert (keys / "authorized" / "dock.key").read_bytes() == authorized
    assert not (keys / "dock.key_secret").exists()


def test_a_client_name_that_is_not_a_plain_file_name_is_refused(tmp_path: Path) -> None:
    for name in ("../evil", "a b", ".hidden", ""):
        result = runner.invoke(app, ["keys", "client", name, str(tmp_path / "keys")])
        assert result.exit_code == 2 and "Invalid value for 'name'" in result.output, (name, result.output)
    assert not (tmp_path / "keys").exists() and not (tmp_path / "evil.key_secret").exists()


def test_a_folder_that_cannot_hold_keys_is_named_without_a_traceback(tmp_path: Path) -> None:
    a_file = tmp_path / "edge.yaml"
    a_file.write_text("streams: []\n")
    result = runner.invoke(app, ["keys", "server", str(a_file)])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    result = runner.invoke(app, ["keys", "server", str(a_file / "keys")])
    assert result.exit_code == 1 and f"error: cannot write the keys: {a_file / 'keys'}" in result.output, (
        result.output
    )


def test_a_secret_key_is_private_from_its_first_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written under the caller's umask and only then made private, a secret key was readable by
    every user meanwhile, and for good when the command died in between."""
    written: list[int] = []
    create = zmq.auth.create_certificates

    def create_and_look(folder: str, name: str) -> tuple[str, str]:
        public, secret = create(folder, name)
        written.append(Path(secret).stat().st_mode & 0o777)
        return public, secret

    monkeypatch.setattr(zmq.auth, "create_certificates", create_and_look)
    umask = os.umask(0o022)
    try:
        assert runner.invoke(app, ["keys", "server", str(tmp_path / "keys")]).exit_code == 0
    finally:
        os.umask(umask)
    assert written == [0o600]
    assert (tmp_path / "keys" / "server.key").stat().st_mode & 0o777 == 0o644
