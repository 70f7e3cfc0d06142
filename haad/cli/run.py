"""``haad run``: the edge daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from config.edge import MetricsConfig
from haad.cli.common import ConfigOption, load_edge_config


def _metrics_host(host: str | None) -> str | None:
    # Checked as metrics.host is: an empty one bound every address.
    try:
        return None if host is None else MetricsConfig(host=host).host
    except ValidationError as e:
        raise typer.BadParameter(e.errors()[0]["msg"]) from None


def run_cmd(
    config: Path | None = ConfigOption,
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

    cfg = load_edge_config(config)
    if metrics_host is not None:
        cfg = cfg.model_copy(update={"metrics": cfg.metrics.model_copy(update={"host": metrics_host})})
    setup_logging(cfg.logging.level, cfg.logging.format)
    raise typer.Exit(Daemon(cfg).run())
