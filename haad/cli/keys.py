"""``haad keys``: the CURVE keys a tcp:// bus needs."""

from __future__ import annotations

from pathlib import Path

import typer

from haad.cli.common import fail

app = typer.Typer(no_args_is_help=True, help="Make the keys that secure a tcp:// skeleton bus.")


@app.command("server")
def server_cmd(
    folder: Path = typer.Argument(..., help="Where to write server.key and server.key_secret."),
) -> None:
    """Make the worker's key pair. The worker's bus.curve.server_secret_key names server.key_secret;
    copy server.key to every frontend host (their bus.curve.server_public_key)."""
    from bus.curve import make_server_keys

    try:
        public, secret = make_server_keys(folder)
    except FileExistsError as e:
        raise fail(str(e)) from None
    typer.echo(f"wrote {public} (give it to frontend hosts) and {secret} (keep it on the worker host)")


@app.command("client")
def client_cmd(
    name: str = typer.Argument(..., help="A name for the frontend host, e.g. dock-camera-host."),
    folder: Path = typer.Argument(..., help="Where to write NAME.key_secret and authorized/NAME.key."),
) -> None:
    """Make a frontend host's key pair. The frontend's bus.curve.client_secret_key names
    NAME.key_secret; the worker admits it when authorized/NAME.key is in its
    bus.curve.authorized_clients folder."""
    from bus.curve import make_client_keys

    try:
        public, secret = make_client_keys(folder, name)
    except FileExistsError as e:
        raise fail(str(e)) from None
    typer.echo(f"wrote {secret} (keep it on the frontend host) and {public} (authorizes it on the worker)")
