"""``haad run``: the edge daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from config.edge import MetricsConfig
from haad.cli.common import fail, load_edge_config


def _metrics_host(host: str | None) -> str | None:
    # Checked as metrics.host is: an empty one bound every address.
    try:
        return None if host is None else MetricsConfig(host=host).host
    except ValidationError as e:
        raise typer.BadParameter(e.errors()[0]["msg"]) from None


def run_cmd(
    config: Path | None = typer.Option(
        None,
        "--config",
        help="edge.yaml: the streams, store and profiles to run (haad config defaults > edge.yaml).",
    ),
    metrics_host: Annotated[
        str | None,
        typer.Option(
            callback=_metrics_host,
            help="Replaces metrics.host (0.0.0.0 in a container, whose port is published).",
        ),
    ] = None,
) -> None:
    """Run the edge daemon: a frontend per stream, the worker, the alert log and /metrics."""
    from bus.logs import setup_logging
    from edge.daemon import Daemon

    if config is None:
        # The defaults' synthetic camera, scored against every profile in ./profiles, wrote its alerts
        # into ./haad-alerts.db: a user's own log and profiles, where they keep them there.
        raise fail(
            "give the deployment's --config edge.yaml (haad config defaults > edge.yaml makes one); "
            "haad demo runs the whole pipeline on built-in data",
            code=2,
        )
    cfg = load_edge_config(config)
    if metrics_host is not None:
        cfg = cfg.model_copy(update={"metrics": cfg.metrics.model_copy(update={"host": metrics_host})})
    setup_logging(cfg.logging.level, cfg.logging.format)
    raise typer.Exit(Daemon(cfg).run())
