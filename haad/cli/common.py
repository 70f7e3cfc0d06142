"""What several commands share: loading edge.yaml and opening the alert log, with errors a user
can act on."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from config.edge import EdgeConfig
from config.loader import ConfigError, load_config
from config.store import StoreConfig, normalise_db_url

if TYPE_CHECKING:
    from config.frontend import WebcamSourceConfig
    from edge.store import AlertStore

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
            raise fail(str(e), code=2) from None
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


@contextmanager
def logging_set_up(level: str | int, fmt: str) -> Iterator[None]:
    """Within, this process logs as ``bus.logs.setup_logging`` sets it up (``json`` or ``text``; fd 2
    captured, MediaPipe's start-up lines and a camera's repeated OpenCV/FFmpeg lines counted). At the
    end stderr is the terminal again, every captured line written out: what the command says next (why
    it could not start) is never lost behind the capture's pipe as it exits, nor logged as a native line."""
    from bus.logs import setup_logging, wait_for_native_stderr

    sys.stderr.flush()
    terminal = os.dup(2)
    setup_logging(level, fmt)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)  # the capture pipe's only writer closed: its thread reads to the end and ends
        os.close(terminal)
        wait_for_native_stderr(5)


def say_checks(target: Path, problems: Sequence[str], warnings: Sequence[str]) -> None:
    """A checked file's problems on stderr, each after the file's name, then exit 2 if there was one;
    else its warnings."""
    for problem in problems:
        typer.echo(f"{target}: {problem}", err=True)
    if problems:
        raise typer.Exit(2)
    for warning in warnings:
        typer.echo(f"{target}: warning: {warning}", err=True)


# How long a check waits for a local camera to open: a V4L2 device answers within a second; a driver
# that hangs must not hang `haad config validate`.
CAMERA_PROBE_S = 5.0


def camera_refusal(source: WebcamSourceConfig, timeout_s: float = CAMERA_PROBE_S) -> str | None:
    """Why the local camera ``source`` names does not open now, as a frontend opens it (None: it does).
    It is released at once, not held: a running frontend may want it next. One still opening after
    ``timeout_s`` is refused; its release waits in a thread that this process does not wait for."""
    import threading

    from bus.logs import quiet_native_stderr
    from pose_frontend.live import webcam_capture_factory

    opened: list[bool] = []

    def probe() -> None:
        capture = webcam_capture_factory(source)()
        try:
            opened.append(capture.isOpened())
        finally:
            capture.release()

    thread = threading.Thread(target=probe, name="haad-camera-probe", daemon=True)
    with quiet_native_stderr():  # OpenCV's boilerplate (its lines naming the index stay, above ours)
        thread.start()
        thread.join(timeout_s)
    if thread.is_alive():
        return f"camera {source.index} did not open within {timeout_s:g} s"
    if not (opened and opened[0]):  # [] : the probe raised (its traceback is above)
        return f"camera {source.index} does not open (none at that index, or this user may not use it)"
    return None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr; raise the returned exit: ``raise fail(...)``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def output_folder(path: Path, option: str = "--out") -> Path:
    """``path`` created as the folder a command writes its reports to, before the work that fills it;
    exits with code 2 and one line when it cannot be (a file of that name, a file above it)."""
    blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise fail(f"{option} {path}: {blocking} is a file, not a folder", code=2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise fail(f"{option} {path}: {e.strerror}", code=2) from None
    return path


# PostgreSQL's invalid_schema_name: nothing to create the tables in (a search_path naming no schema).
_NO_SCHEMA = "3F000"


def open_store(store: StoreConfig) -> AlertStore:
    """The alert log ``store`` names, for a command that reads it (a worker creates it); exits with
    code 1 and one line when it cannot be opened. A missing SQLite file is refused, not created: a
    typo must not make an empty log."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from config.secrets import SecretError
    from edge.store import AlertStore
    from edge.store.engine import sqlite_file

    if (path := sqlite_file(store.url)) is not None and not path.is_file():
        raise no_sqlite_log(path)
    try:
        return AlertStore(store)
    except (SecretError, SQLAlchemyError, CommandError) as e:
        raise fail(store_refusal(store, e)) from None


def no_sqlite_log(path: Path) -> typer.Exit:
    """Refuse a SQLite alert log with no file at ``path`` (or no folder above it)."""
    return fail(
        f"no alert database at {path.absolute()}: the daemon makes it when it first starts (haad run); "
        "another alert log: --db, HAAD_DB or store.url in --config edge.yaml"
    )


def store_refusal(store: StoreConfig, e: Exception) -> str:
    """Why the alert log ``store`` names could not be opened, in one line a user can act on."""
    from config.redaction import redact_url
    from config.secrets import SecretError

    if isinstance(e, SecretError):
        return f"store.password: {e}"
    if getattr(getattr(e, "orig", None), "sqlstate", None) == _NO_SCHEMA:
        return (
            f"cannot open {redact_url(store.url)}: the schema its search_path names does not exist; "
            "create it (CREATE SCHEMA name) or fix store.url (--db, HAAD_DB)"
        )
    # The first line: the driver's own follows with the SQL it ran (LINE 2: CREATE TABLE ...).
    why = str(e.args[0]).splitlines()[0] if e.args else ""
    return f"cannot open {redact_url(store.url)}: {e.__class__.__name__}: {why}"


def invalid(e: ValidationError, code: int = 2) -> typer.Exit:
    """Print each problem of ``e`` on its own line (``error: field: why``); raise the returned exit."""
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"])
        why = err["msg"].removeprefix("Value error, ")
        typer.echo(f"error: {where}: {why}" if where else f"error: {why}", err=True)
    return typer.Exit(code)


def check_behaviour(name: str | None) -> str | None:
    """A ``--behaviour`` option's callback: a name that cannot be a behaviour's is bad usage (exit 2)."""
    from edge.profiles import ProfileError, check_name

    try:
        return None if name is None else check_name(name, "behaviour")
    except ProfileError as e:
        raise typer.BadParameter(str(e)) from None


def printable(value: object) -> str:
    """``value`` as text, control characters escaped: a note typed on the web page (or any field from
    the shared alert log) could otherwise retitle, clear or rewrite the reviewer's terminal. A character
    the terminal's encoding lacks (a latin-1 or ASCII locale) is escaped too: printing it raised."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding)


def table(header: list[str], rows: list[list[str]]) -> str:
    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )
