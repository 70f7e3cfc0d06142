"""``haad run``: the edge daemon."""

from __future__ import annotations

from pathlib import Path

import typer

from haad.cli.common import ConfigOption, load_edge_config


def run_cmd(config: Path | None = ConfigOption) -> None:
    """Run the edge daemon: a frontend per stream, the worker, the alert log and /metrics."""
    from bus.logs import setup_logging
    from edge.daemon import Daemon

    cfg = load_edge_config(config)
    setup_logging(cfg.logging.level, cfg.logging.format)
    raise typer.Exit(Daemon(cfg).run())
