"""``haad events``: deliver alert events to MQTT and webhooks, and see how far each sink is."""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Annotated

import typer

from config.events import EventsConfig
from haad.cli.common import ConfigOpt, DbOpt, fail, load_edge_config, logging_set_up, open_store

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Alert events out: MQTT, webhooks.")


@app.command("run")
def events_run_cmd(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Deliver alert events to the configured sinks until Ctrl-C (haad run does this by itself)."""
    from bus.lifetime import stop_on_signals
    from edge.checks import secret_problems
    from edge.events.notifier import Notifier, build_sinks
    from edge.events.tls import ca_file_problems
    from edge.review.server import configured_streams
    from edge.snapshots import snapshot_modes

    cfg = load_edge_config(config, db=db)
    if not cfg.events.enabled:
        raise fail("no events sink configured (events.mqtt or events.webhooks)", code=2)
    # Refused now, as haad run does, not failed at every delivery.
    if problems := [*secret_problems(cfg.events, "events."), *ca_file_problems(cfg.events)]:
        raise fail("; ".join(problems), code=2)
    stop = threading.Event()
    stop_on_signals(stop.set, signal.SIGINT, signal.SIGTERM)  # systemd stops it with SIGTERM
    # The log takes stderr once the alert log opened: a refusal is one plain line.
    with open_store(cfg.store) as store, logging_set_up(cfg.logging.level, "text"):
        # A notifier-only host's edge.yaml names no streams: no sensor for the defaults' placeholder
        # camera (the streams of its events are announced as they come).
        sinks = build_sinks(cfg.events, list(configured_streams(cfg)))
        notifier = Notifier(cfg.events, store, sinks, snapshot_streams=snapshot_modes(cfg))
        # Said once the stop signals are handled: a supervisor (or a test) knows it may stop it now.
        logging.getLogger("haad.events").info("delivering events to %s", ", ".join(s.name for s in sinks))
        try:
            notifier.run(stop)
        finally:
            notifier.close()
    typer.echo("stopped")


@app.command("status")
def events_status_cmd(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Each sink's progress through the outbox (pending events, failures, last error), as JSON."""
    from edge.store.outbox import cursor_states

    cfg = load_edge_config(config, db=db)
    with open_store(cfg.store) as store, store.reading() as s:
        states = [{**c.to_dict(), "started": True} for c in cursor_states(s)]
    # A configured sink no notifier has run with yet has no cursor: it was left out, and a status of
    # [] read as "nothing configured" rather than "nothing delivering".
    known = {state["sink"] for state in states}
    states += [
        {
            "sink": name,
            "started": False,
            "last_error": "no notifier has run with this sink yet (haad run or "
            "haad events run); it gets the events after its start",
        }  # fmt: skip
        for name in _sink_names(cfg.events)
        if name not in known
    ]
    typer.echo(json.dumps(states, indent=2))


def _sink_names(events: EventsConfig) -> list[str]:
    """The configured sinks, as the notifier names them (edge.events.notifier.build_sinks)."""
    return [*(["mqtt"] if events.mqtt else []), *(f"webhook:{w.name}" for w in events.webhooks)]


@app.command("forget")
def events_forget_cmd(
    sink: Annotated[str, typer.Argument(help="As haad events status names it: mqtt, webhook:NAME.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Forget a sink removed from the config: retention keeps every event a known sink has not had,
    so a removed one kept the outbox growing forever."""
    from edge.store.models import EventCursor

    cfg = load_edge_config(config, db=db)
    if sink in _sink_names(cfg.events):
        raise fail(f"{sink} is still in the config's events: remove it there first", code=2)
    with open_store(cfg.store) as store, store.writing() as s:
        cursor = s.get(EventCursor, sink)
        if cursor is None:
            raise fail(f"no sink {sink!r} in the alert log (haad events status lists them)", code=2)
        s.delete(cursor)
    typer.echo(f"forgot {sink}: retention no longer keeps events for it")
