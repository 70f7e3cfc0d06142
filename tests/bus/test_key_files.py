"""Key files damaged on their way to a host, or put where the other kind belongs, or left readable by
every user: `haad config validate` names each on the worker host, before `haad run` fails on it
('Invalid argument') or the worker turns away a frontend whose authorized key is cut short."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bus.curve import authorized_keys, load_key, make_client_keys, make_server_keys
from edge.demo import PROFILES_DIR
from haad.cli import app

runner = CliRunner()


def _worker_host(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A worker host's edge.yaml as docs/bus.md writes it; its secret key and an authorized key."""
    keys = tmp_path / "keys"
    _, secret = make_server_keys(keys)
    make_client_keys(keys, "dock")
    curve = {"server_secret_key": str(secret), "authorized_clients": str(keys / "authorized")}
    cfg = {"run_frontends": False, "streams": [{"id": "dock", "profiles": ["demo-walk"]}],
           "profiles_dir": str(PROFILES_DIR), "bus": {"endpoint": "tcp://127.0.0.1:5555", "curve": curve}}  # fmt: skip
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, secret, keys / "authorized" / "dock.key"


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-12])  # the key's line cut short, its closing quote gone


def _edit(path: Path) -> None:
    text = path.read_text()
    start = text.rindex('= "') + 3  # the last key in the file: its secret one when it holds it
    path.write_text(text[:start] + ("A" if text[start] != "A" else "B") + text[start + 1 :])


# An edited public key is a valid other key: only the frontend's refusal can tell (bus/link.py).
@pytest.mark.parametrize(
    ("which", "damage"),
    [("secret", _cut), ("secret", _edit), ("authorized", _cut)],
    ids=["cut", "edited", "cut-public"],
)
def test_a_damaged_key_file_is_named_by_validate(
    tmp_path: Path, which: str, damage: Callable[[Path], None]
) -> None:
    config, secret, authorized = _worker_host(tmp_path)
    key = secret if which == "secret" else authorized
    damage(key)
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{key} is damaged" in result.output


def test_a_secret_key_where_a_public_one_belongs_is_refused(tmp_path: Path) -> None:
    config, _, authorized = _worker_host(tmp_path)
    shutil.copy(tmp_path / "keys" / "dock.key_secret", authorized)  # the frontend's secret copied over
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{authorized} holds a secret key" in result.output


def test_a_secret_key_every_user_may_read_is_warned_of(tmp_path: Path) -> None:
    config, secret, _ = _worker_host(tmp_path)
    assert "every user may read" not in runner.invoke(app, ["config", "validate", str(config)]).output
    secret.chmod(0o644)  # copied with a umask of 022
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 0, result.output
    assert f"every user may read the secret key {secret} (chmod 600 it)" in result.output


def test_a_folder_named_as_the_key_is_said_to_be_a_folder(tmp_path: Path) -> None:
    config, secret, _ = _worker_host(tmp_path)
    secret.unlink()
    secret.mkdir()  # e.g. the keys folder given where its server.key_secret belongs
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{secret} is a folder: name the key file in it" in result.output


def test_a_relative_key_path_not_found_names_the_folder_it_is_read_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _, _ = _worker_host(tmp_path)
    text = config.read_text().replace(str(tmp_path / "keys" / "server.key_secret"), "keys/server.key_secret")
    config.write_text(text)
    elsewhere = tmp_path / "elsewhere"  # a service's WorkingDirectory, not the config's folder
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2, result.output
    assert f"not found: keys/server.key_secret (relative to the current folder {elsewhere})" in result.output


def test_a_key_file_this_user_cannot_read_is_not_called_damaged(tmp_path: Path) -> None:
    _, secret = make_server_keys(tmp_path)
    secret.chmod(0o000)  # e.g. copied in by root, haad run as its own user
    assert _load_error_as_another_user(secret).startswith(f"{secret} cannot be read by this user (uid ")


def _load_error_as_another_user(key: Path) -> str:
    return _as_another_user(lambda: load_key(str(key), secret=True))


def _as_another_user(call: Callable[[], object]) -> str:
    """The error of ``call`` in a child that is not root (root reads any file): nobody, where tests
    run as root; "done" when it raises none."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only os calls and ``call``, then _exit
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            call()
            message = "done"
        except BaseException as e:  # noqa: BLE001 - any error is the answer
            message = str(e)
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode()
    os.waitpid(pid, 0)
    return message


@pytest.mark.parametrize("kind", ["missing", "file", "unreadable"])
def test_an_authorized_clients_folder_that_cannot_be_read_is_not_called_empty(
    tmp_path: Path, kind: str
) -> None:
    # Each was "no client public keys (*.key) in ...": the operator looked for keys that were there.
    config, secret, authorized = _worker_host(tmp_path)
    folder = authorized.parent
    if kind == "missing":
        shutil.rmtree(folder)
        said = f"bus.curve.authorized_clients: folder not found: {folder}"
    elif kind == "file":
        shutil.rmtree(folder)
        folder.write_bytes(authorized.read_bytes() if authorized.exists() else b"")
        said = f"bus.curve.authorized_clients: {folder} is a file, not a folder"
    else:
        folder.chmod(0o000)
        said = f"{folder} cannot be read by this user (uid "
    if kind == "unreadable":
        assert _authorized_error_as_another_user(folder).startswith(said)
        return
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2, result.output
    assert said in result.output


def _authorized_error_as_another_user(folder: Path) -> str:
    return _as_another_user(lambda: authorized_keys(folder))
