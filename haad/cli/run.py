"""``haad run``: the edge daemon."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from haad.cli.common import ConfigOption, load_edge_config

log = logging.getLogger("haad.daemon")


def run_cmd(
    config: Path | None = ConfigOption,
    metrics_host: Annotated[
        str | None,
        typer.Option(help="Replaces metrics.host (0.0.0.0 in a container, whose port is published)."),
    ] = None,
) -> None:
    """Run the edge daemon: a frontend per stream, the worker, the alert log and /metrics."""
    from bus.logs import setup_logging
    from edge.checks import deployment_warnings
    from edge.daemon import Daemon

    cfg = load_edge_config(config)
    if metrics_host is not None:
        cfg = cfg.model_copy(update={"metrics": cfg.metrics.model_copy(update={"host": metrics_host})})
    setup_logging(cfg.logging.level, cfg.logging.format)
    for warning in deployment_warnings(cfg):
        log.warning("%s", warning)
    try:
        code = Daemon(cfg).run()
    except OSError as e:
        # Imported only now: the daemon points prometheus_client at its storage before the first import.
        from edge.metrics import MetricsUnavailable

        if not isinstance(e, MetricsUnavailable):
            raise
        log.error("cannot start: %s", e)  # nothing was started yet: the endpoint opens first
        code = 2
    raise typer.Exit(code)
