"""``haad serve`` (the review server), ``haad serve token``, ``haad events run|status`` and
``haad alerts prune``; ``haad alerts review --normal`` and ``haad alerts show --plot`` call in here."""

from __future__ import annotations

import getpass
import json
import threading
from pathlib import Path
from typing import Annotated

import typer

from config.edge import EdgeConfig
from config.loader import ConfigError, load_config
from config.store import StoreConfig, normalise_db_url

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="edge.yaml (store, profiles_dir, serve, events, encoder).")
]
DbOpt = Annotated[
    str | None, typer.Option("--db", envvar="HAAD_DB", help="Alert database URL (overrides store.url).")
]
ProfilesOpt = Annotated[
    Path | None, typer.Option("--profiles", help="Profiles folder (overrides profiles_dir).")
]

serve_app = typer.Typer(
    invoke_without_command=True,
    add_completion=False,
    help="The review web UI and HTTP API (/api/v1): alerts with skeleton playback, review, 'mark as normal'.",
)
events_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Alert events out: MQTT, webhooks.")


def load_edge(config: Path | None, db: str | None = None, profiles: Path | None = None) -> EdgeConfig:
    try:
        cfg = load_config(config, EdgeConfig) if config is not None else EdgeConfig()
    except ConfigError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    updates: dict[str, object] = {}
    if db is not None:
        try:
            updates["store"] = StoreConfig.model_validate(
                {**cfg.store.model_dump(), "url": normalise_db_url(db)}
            )
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--db") from None
    if profiles is not None:
        updates["profiles_dir"] = str(profiles)
    return cfg.model_copy(update=updates) if updates else cfg


@serve_app.callback()
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
    from config.serve import ServeConfig
    from edge.logs import setup_logging
    from edge.review.server import run_server, with_overrides

    cfg = load_edge(config, db, profiles)
    try:
        serve = with_overrides(
            cfg.serve or ServeConfig(), host=host, port=port, auth=False if no_auth else None
        )
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    setup_logging(cfg.logging.level, "text")
    run_server(cfg, serve)


@serve_app.command("token")
def token_cmd(
    name: Annotated[str, typer.Option(help="Who holds the token (recorded with their reviews).")],
) -> None:
    """Make an access token: prints it once, and the serve.tokens entry (its hash) for edge.yaml."""
    from config.serve import TokenConfig
    from edge.review.auth import new_token, token_sha256

    token = new_token()
    entry = TokenConfig(name=name, sha256=token_sha256(token))
    typer.echo(f"token for {name}: {token}")
    typer.echo("add to edge.yaml under serve.tokens:")
    typer.echo(f"  - {{name: {entry.name}, sha256: {entry.sha256}}}")


@events_app.command("run")
def events_run_cmd(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Deliver alert events to the configured sinks until Ctrl-C (haad run does this by itself)."""
    from edge.events.notifier import Notifier, build_sinks
    from edge.logs import setup_logging
    from edge.store import AlertStore

    cfg = load_edge(config, db)
    if not cfg.events.enabled:
        typer.echo("error: no events sink configured (events.mqtt or events.webhooks)", err=True)
        raise typer.Exit(2)
    setup_logging(cfg.logging.level, "text")
    stop = threading.Event()
    with AlertStore(cfg.store) as store:
        notifier = Notifier(cfg.events, store, build_sinks(cfg.events, [s.id for s in cfg.streams]))
        try:
            notifier.run(stop)
        except KeyboardInterrupt:
            stop.set()
        finally:
            notifier.close()


@events_app.command("status")
def events_status_cmd(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Each sink's progress through the outbox (pending events, failures, last error), as JSON."""
    from edge.store import AlertStore
    from edge.store.outbox import cursor_states

    cfg = load_edge(config, db)
    with AlertStore(cfg.store) as store, store.reading() as s:
        typer.echo(json.dumps([c.to_dict() for c in cursor_states(s)], indent=2))


def prune_cmd(
    config: ConfigOpt = None,
    db: DbOpt = None,
    profiles: ProfilesOpt = None,
) -> None:
    """Apply store.retention now: drop old windows, delete old alerts and delivered events."""
    from edge.store import AlertStore
    from edge.store.retention import prune

    cfg = load_edge(config, db, profiles)
    profiles_dir = Path(cfg.profiles_dir)
    with AlertStore(cfg.store) as store:
        report = prune(
            store, cfg.store.retention, profiles_dir=profiles_dir if profiles_dir.is_dir() else None
        )
    r = report
    typer.echo(
        f"windows dropped: {r.windows_dropped}; alerts deleted: {r.deleted_by_age} by age, {r.deleted_by_rows} "
        f"over max_rows; events deleted: {r.events_deleted}; kept because a profile uses them: {r.protected}"
    )


def review_normal(
    alert_id: int,
    *,
    db: str,
    config: Path | None,
    note: str,
    undo: bool,
    profile: str | None,
    reviewer: str | None,
) -> str:
    """``haad alerts review ID --normal`` / ``--undo-normal``: what the page's buttons do."""
    from edge.backends import make_backend
    from edge.feedback import FeedbackError, mark_normal, undo_normal
    from edge.profiles import ProfileError, ProfileStore
    from edge.store import AlertStore

    cfg = load_edge(config, db)
    who = reviewer or getpass.getuser()
    with AlertStore(cfg.store) as store:
        backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
        profiles = ProfileStore(Path(cfg.profiles_dir))
        try:
            if undo:
                r = undo_normal(
                    store, profiles, backend, cfg.worker.calibration, alert_id, reviewer=who, note=note
                )
                return f"alert {alert_id}: removed from profile {r.profile} -> v{r.version} (threshold {r.threshold_after:.3f})"
            r = mark_normal(store, profiles, backend, cfg.worker.calibration, [alert_id], reviewer=who, note=note,
                            profile=profile)  # fmt: skip
        except KeyError as e:
            typer.echo(f"error: {e.args[0]}", err=True)
            raise typer.Exit(1) from None
        except (FeedbackError, ProfileError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
    return (
        f"alert {alert_id}: normal; {r.windows} window(s) added to profile {r.profile} v{r.base_version} -> "
        f"v{r.version}, threshold {r.threshold_before:.3f} -> {r.threshold_after:.3f} "
        f"({cfg.profiles_dir}/{r.profile}; a running daemon picks it up)"
    )
