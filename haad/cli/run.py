"""``haad run``: the edge daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from haad.cli.common import ConfigOption, load_edge_config


def run_cmd(
    config: Path | None = ConfigOption,
    metrics_host: Annotated[
        str | None,
        typer.Option(help="Replaces metrics.host (0.0.0.0 in a container, whose port is published)."),
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
