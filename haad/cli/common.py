"""What several commands share: loading edge.yaml with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import typer

from config.edge import EdgeConfig
from config.loader import ConfigError, load_config

ConfigOption = typer.Option(None, "--config", help="edge.yaml (default: the built-in defaults).")


def load_edge_config(path: Path | None) -> EdgeConfig:
    """``path`` validated as an :class:`EdgeConfig` (the defaults when None); exits with code 2 and
    every problem with its line when the file is missing or invalid. Local state lives next to the
    config file unless ``state_dir`` says otherwise (relative to that file's folder)."""
    if path is None:
        return EdgeConfig()
    try:
        cfg = load_config(path, EdgeConfig)
    except ConfigError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    state = path.resolve().parent / (cfg.state_dir or ".")
    return cfg.model_copy(update={"state_dir": str(state)})


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr; raise the returned exit: ``raise fail(...)``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
