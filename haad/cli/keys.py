"""``haad keys``: the CURVE keys a tcp:// bus needs."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from haad.cli.common import fail

app = typer.Typer(no_args_is_help=True, help="Make the keys that secure a tcp:// skeleton bus.")

# The name becomes a file name and, as its stem, the key's name in bus.curve.senders.
_CLIENT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


def _client_name(name: str) -> str:
    if not _CLIENT_NAME.fullmatch(name):
        raise typer.BadParameter(
            f"{name!r}: use 1-64 letters, digits, '_', '-' or '.' (not first), e.g. dock-camera-host"
        )
    return name


def _folder(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise typer.BadParameter(f"{folder} is a file, not a folder")
    return folder


def _write_failed(e: OSError) -> typer.Exit:
    if isinstance(e, FileExistsError) and e.filename is None:
        return fail(str(e))  # a key that is there already
    return fail(f"cannot write the keys: {e.filename}: {e.strerror}")


@app.command("server")
def server_cmd(
    folder: Path = typer.Argument(
        ..., callback=_folder, help="Where to write server.key and server.key_secret."
    ),
) -> None:
    """Make the worker's key pair. The worker's bus.curve.server_secret_key names server.key_secret;
    copy server.key to every frontend host (their bus.curve.server_public_key)."""
    from bus.curve import make_server_keys

    try:
        public, secret = make_server_keys(folder)
    except OSError as e:
        raise _write_failed(e) from None
    typer.echo(f"wrote {public} (give it to frontend hosts) and {secret} (keep it on the worker host)")


@app.command("client")
def client_cmd(
    name: str = typer.Argument(
        ..., callback=_client_name, help="A name for the frontend host, e.g. dock-camera-host."
    ),
    folder: Path = typer.Argument(
        ..., callback=_folder, help="Where to write NAME.key_secret and authorized/NAME.key."
    ),
) -> None:
    """Make a frontend host's key pair. The frontend's bus.curve.client_secret_key names
    NAME.key_secret; the worker admits it when authorized/NAME.key is in its
    bus.curve.authorized_clients folder."""
    from bus.curve import make_client_keys

    try:
        public, secret = make_client_keys(folder, name)
    except OSError as e:
        raise _write_failed(e) from None
    typer.echo(f"wrote {secret} (keep it on the frontend host) and {public} (authorizes it on the worker)")
