"""Run the review server: the context from an edge config, then Uvicorn."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.edge import EdgeConfig
from config.redaction import redact_url
from config.serve import ServeConfig
from edge.profiles import ProfileStore
from edge.review.alert_log import RETRY_S, LogRefused, ReviewLog
from edge.review.auth import Auth, new_token
from edge.review.context import ReviewContext
from edge.snapshots import alerts_root
from edge.state_lock import state_dir
from edge.store import AlertStore

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("haad.serve")


class ServeUnavailable(OSError):
    """The review server cannot listen where serve.host and serve.port say (e.g. the port is in use)."""


def build_context(cfg: EdgeConfig, serve: ServeConfig, review_log: ReviewLog) -> ReviewContext:
    extra: dict[str, str] = {}
    if serve.auth and not serve.tokens:
        token = new_token()
        extra["admin"] = token
        path = state_dir(cfg) / "serve-token"
        write_private(path, token + "\n")
        log.warning(
            "serve.tokens is empty: this run's token (name 'admin') is in %s, readable by this user "
            "only; make lasting ones with `haad serve token --name NAME`",
            path.resolve(),
        )
    make_backend = None
    if serve.encoder:
        from edge.backends import make_backend as make

        def make_backend():  # type: ignore[no-untyped-def]
            return make(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)

    return ReviewContext(
        cfg=serve,
        log=review_log,
        profiles=ProfileStore(Path(cfg.profiles_dir)),
        auth=Auth(serve, extra),
        calibration=cfg.worker.calibration,
        snapshots_dir=alerts_root(cfg),
        stride=cfg.worker.stride,
        feedback_reach=cfg.worker.feedback_reach,
        make_backend=make_backend,
        streams=configured_streams(cfg),
        status_every_s=cfg.status_every_s,
    )


def configured_streams(cfg: EdgeConfig) -> dict[str, list[str]]:
    """Stream -> its profiles as edge.yaml names them; none when it names no ``streams`` (no
    --config, or a review host's): the defaults' placeholder camera is none of the alert log's, and
    "mark as normal" named it as the camera a change reached."""
    return {s.id: list(s.profiles) for s in cfg.streams} if "streams" in cfg.model_fields_set else {}


def run_server(
    cfg: EdgeConfig,
    serve: ServeConfig,
    stop: threading.Event | None = None,
    *,
    store: AlertStore | None = None,
    unanswered: str = "",
) -> None:
    """Serve until interrupted (or ``stop`` is set); refuses an open host without auth (config).
    ``store``: the alert log, already open (else it is opened here, unless ``unanswered`` says why
    it did not answer at start: then it is opened once it does, answering 503 meanwhile). Raises
    :class:`ServeUnavailable` when it cannot listen there, :class:`LogRefused` when the log answered
    later but cannot be served (the server stops)."""
    from edge.review.app import create_app
    from edge.review.quiet_server import QuietServer

    review_log = ReviewLog(store if store is not None or unanswered else AlertStore(cfg.store))
    refused: list[LogRefused] = []
    stop_opening = threading.Event()
    try:
        # Listening first: a second server on a busy port would otherwise replace the running one's
        # one-off token in state_dir before failing, locking its users out.
        sock = listen(serve)
        ctx = build_context(cfg, serve, review_log)
        app = create_app(ctx)
        server = QuietServer(uvicorn_config(app, serve), ctx.stopping)
        if stop is not None:

            def stop_when_asked() -> None:
                stop.wait()
                server.should_exit = True

            threading.Thread(target=stop_when_asked, daemon=True).start()
        if unanswered:

            def refuse(e: LogRefused) -> None:
                refused.append(e)
                server.should_exit = True

            log.warning("alert log %s does not answer (%s): pages and API answer 503 'alert log unreachable' "
                        "until it does, tried every %g s", redact_url(cfg.store.url), unanswered, RETRY_S)  # fmt: skip
            review_log.open_when_answering(cfg.store, unanswered, stop_opening, refuse)
        log.info("review server on %s://%s:%d/ (auth %s)", "https" if serve.tls_cert else "http", serve.host,
                 serve.port, "on" if serve.auth else "off")  # fmt: skip
        server.run(sockets=[sock])
    finally:
        stop_opening.set()
        review_log.close()
    if refused:
        raise refused[0]


def listen(serve: ServeConfig) -> socket.socket:
    """A socket bound to serve.host:serve.port for Uvicorn to accept on."""
    sock = socket.socket(socket.AF_INET6 if ":" in serve.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Uvicorn's own
    try:
        sock.bind((serve.host, serve.port))
    except OSError as e:
        sock.close()
        raise ServeUnavailable(
            f"the review server cannot listen on {serve.host}:{serve.port} ({e.strerror}); stop what uses "
            "it, or set another serve.port (--port)"
        ) from None
    return sock


def uvicorn_config(app: Any, serve: ServeConfig) -> uvicorn.Config:
    """Uvicorn for ``app`` as ``serve`` says. Forwarded headers are left to edge.review.guards, which
    believes them from serve.trusted_proxies only (Uvicorn would believe any local peer)."""
    import uvicorn

    return uvicorn.Config(
        app, host=serve.host, port=serve.port, log_config=None, access_log=False, proxy_headers=False,
        ssl_certfile=serve.tls_cert, ssl_keyfile=serve.tls_key,
        timeout_graceful_shutdown=3,  # live-event streams end as it begins (QuietServer); browsers reconnect
    )  # fmt: skip


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, readable and writable by this user only from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, 0o600)  # an older file may have had other bits
        f.write(text)


def with_overrides(serve: ServeConfig, **values: object) -> ServeConfig:
    """``serve`` with the non-None values replaced, validated again (e.g. --host 0.0.0.0 --no-auth fails)."""
    data = serve.model_dump()
    data.update({k: v for k, v in values.items() if v is not None})
    return ServeConfig.model_validate(data)
