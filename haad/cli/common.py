"""What several commands share: loading edge.yaml with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from config.edge import EdgeConfig
from config.loader import ConfigError, load_config
from config.store import StoreConfig, normalise_db_url

ConfigOption = typer.Option(None, "--config", help="edge.yaml (default: the built-in defaults).")
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="edge.yaml (store, profiles_dir, serve, events, encoder).")
]
DbOpt = Annotated[
    str | None, typer.Option("--db", envvar="HAAD_DB", help="Alert database URL (replaces store.url).")
]
ProfilesOpt = Annotated[
    Path | None, typer.Option("--profiles", help="Profiles folder (replaces profiles_dir).")
]


def load_edge_config(path: Path | None, *, db: str | None = None, profiles: Path | None = None) -> EdgeConfig:
    """``path`` validated as an :class:`EdgeConfig` (the defaults when None); exits with code 2 and
    every problem with its line when the file is missing or invalid. Local state lives next to the
    config file unless ``state_dir`` says otherwise (relative to that file's folder). ``db`` and
    ``profiles`` replace the alert log's URL and the profile folder."""
    cfg = EdgeConfig()
    if path is not None:
        try:
            cfg = load_config(path, EdgeConfig)
        except ConfigError as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(2) from None
        cfg = cfg.model_copy(update={"state_dir": str(path.resolve().parent / (cfg.state_dir or "."))})
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


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr; raise the returned exit: ``raise fail(...)``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def check_behaviour(name: str | None) -> str | None:
    """A ``--behaviour`` option's callback: a name that cannot be a behaviour's is bad usage (exit 2)."""
    from edge.profiles import ProfileError, check_name

    try:
        return None if name is None else check_name(name, "behaviour")
    except ProfileError as e:
        raise typer.BadParameter(str(e)) from None
