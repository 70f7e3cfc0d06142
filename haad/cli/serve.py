"""``haad serve``: the review web UI and HTTP API; ``haad serve token`` makes access tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from haad.cli.common import (
    ConfigOpt,
    DbOpt,
    ProfilesOpt,
    fail,
    invalid,
    load_edge_config,
    logging_set_up,
    no_sqlite_log,
    store_refusal,
)

app = typer.Typer(
    invoke_without_command=True,
    add_completion=False,
    help="The review web UI and HTTP API (/api/v1): alerts with skeleton playback, review, 'mark as normal'.",
)


@app.callback()
def serve_cmd(
    ctx: typer.Context,
    config: ConfigOpt = None,
    db: DbOpt = None,
    profiles: ProfilesOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address (serve.host; default 127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="TCP port (serve.port; default 8910).")
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No token needed: only allowed on a loopback host.")
    ] = False,
) -> None:
    """Serve the review pages and /api/v1 until Ctrl-C. Without serve.tokens a one-off token is logged."""
    if ctx.invoked_subcommand is not None:
        return
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from config.secrets import SecretError
    from config.serve import ServeConfig
    from edge.review.alert_log import LogRefused, open_if_answering
    from edge.review.server import ServeUnavailable, run_server, with_overrides
    from edge.store.engine import sqlite_file

    cfg = load_edge_config(config, db=db, profiles=profiles)
    try:
        serve = with_overrides(
            cfg.serve or ServeConfig(), host=host, port=port, auth=False if no_auth else None
        )
    except ValidationError as e:
        raise invalid(e) from None
    # A review host may boot before its database: a log that does not answer yet is served once it
    # does (503 meanwhile). What never will is refused here, before the log takes stderr (one plain
    # line): a SQLite log whose folder is missing (a typo), a file it cannot open, a bad password file,
    # a missing PostgreSQL schema, a schema newer than this haad.
    if (path := sqlite_file(cfg.store.url)) is not None and not path.parent.is_dir():
        raise no_sqlite_log(path)
    try:
        store, unanswered = open_if_answering(cfg.store)
    except (SecretError, SQLAlchemyError, CommandError) as e:
        raise fail(store_refusal(cfg.store, e)) from None
    try:
        with logging_set_up(cfg.logging.level, cfg.logging.format):  # as `haad run`: one log format per edge
            run_server(cfg, serve, store=store, unanswered=unanswered)
    except LogRefused as e:
        raise fail(str(e)) from None
    except ServeUnavailable as e:
        # The usual way to meet a busy port: `haad run` on the same edge.yaml serves the pages itself.
        from_file = cfg.serve is not None and host is None and port is None
        also = (
            f"; `haad run --config {config}` serves these pages itself while serve: is set"
            if from_file
            else ""
        )
        raise fail(f"{e}{also}", 2) from None


@app.command("token")
def token_cmd(
    name: Annotated[str, typer.Option(help="Who holds the token (recorded with their reviews).")],
) -> None:
    """Make an access token: prints it once, and the serve.tokens entry (its hash) for edge.yaml."""
    from config.serve import TokenConfig
    from edge.review.auth import new_token, token_sha256

    token = new_token()
    try:
        entry = TokenConfig(name=name, sha256=token_sha256(token))
    except ValidationError as e:
        raise invalid(e) from None
    typer.echo(f"token for {name}: {token}")
    typer.echo("add to edge.yaml under serve.tokens:")
    typer.echo(f"  - {{name: {entry.name}, sha256: {entry.sha256}}}")
