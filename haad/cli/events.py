"""``haad events``: deliver alert events to MQTT and webhooks, and see how far each sink is."""

from __future__ import annotations

import json
import threading

import typer

from haad.cli.common import ConfigOpt, DbOpt, fail, load_edge_config, open_store

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Alert events out: MQTT, webhooks.")


@app.command("run")
def events_run_cmd(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Deliver alert events to the configured sinks until Ctrl-C (haad run does this by itself)."""
    from bus.logs import setup_logging
    from config.secrets import SecretError
    from edge.events.notifier import Notifier, build_sinks
    from edge.review.server import configured_streams
    from edge.snapshots import snapshot_modes

    cfg = load_edge_config(config, db=db)
    if not cfg.events.enabled:
        raise fail("no events sink configured (events.mqtt or events.webhooks)", code=2)
    secrets = {
        "events.mqtt.password": cfg.events.mqtt.password if cfg.events.mqtt else None,
        **{f"events.webhooks.{w.name}.secret": w.secret for w in cfg.events.webhooks},
    }
    for where, ref in secrets.items():  # refused now, as haad run does, not a traceback later
        try:
            if ref is not None:
                ref.value()
        except SecretError as e:
            raise fail(f"{where}: {e}", code=2) from None
    setup_logging(cfg.logging.level, "text")
    stop = threading.Event()
    with open_store(cfg.store) as store:
        # A notifier-only host's edge.yaml names no streams: no sensor for the defaults' placeholder
        # camera (the streams of its events are announced as they come).
        sinks = build_sinks(cfg.events, list(configured_streams(cfg)))
        notifier = Notifier(cfg.events, store, sinks, snapshot_streams=snapshot_modes(cfg))
        try:
            notifier.run(stop)
        except KeyboardInterrupt:
            stop.set()
        finally:
            notifier.close()


@app.command("status")
def events_status_cmd(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Each sink's progress through the outbox (pending events, failures, last error), as JSON."""
    from edge.store.outbox import cursor_states

    cfg = load_edge_config(config, db=db)
    with open_store(cfg.store) as store, store.reading() as s:
        typer.echo(json.dumps([c.to_dict() for c in cursor_states(s)], indent=2))
