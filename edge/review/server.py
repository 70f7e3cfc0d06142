"""Run the review server: the context from an edge config, then Uvicorn."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from config.edge import EdgeConfig
from config.serve import ServeConfig
from edge.profiles import ProfileStore
from edge.review.auth import Auth, new_token
from edge.review.context import ReviewContext
from edge.store import AlertStore

log = logging.getLogger("haad.serve")


def build_context(cfg: EdgeConfig, serve: ServeConfig, store: AlertStore) -> ReviewContext:
    extra: dict[str, str] = {}
    if serve.auth and not serve.tokens:
        token = new_token()
        extra["admin"] = token
        log.warning(
            "serve.tokens is empty: this run's token (name 'admin') is %s; make lasting ones with "
            "`haad serve token --name NAME`",
            token,
        )
    make_backend = None
    if serve.encoder:
        from edge.backends import make_backend as make

        def make_backend():  # type: ignore[no-untyped-def]
            return make(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)

    return ReviewContext(
        cfg=serve,
        store=store,
        profiles=ProfileStore(Path(cfg.profiles_dir)),
        auth=Auth(serve, extra),
        calibration=cfg.worker.calibration,
        stride=cfg.worker.stride,
        feedback_reach=cfg.worker.feedback_reach,
        make_backend=make_backend,
        streams={s.id: list(s.profiles) for s in cfg.streams} if cfg.streams else {},
        status_every_s=cfg.status_every_s,
    )


def run_server(cfg: EdgeConfig, serve: ServeConfig, stop: threading.Event | None = None) -> None:
    """Serve until interrupted (or ``stop`` is set); refuses an open host without auth (config)."""
    import uvicorn

    from edge.review.app import create_app

    with AlertStore(cfg.store) as store:
        ctx = build_context(cfg, serve, store)
        app = create_app(ctx)
        config = uvicorn.Config(app, host=serve.host, port=serve.port, log_config=None, access_log=False)
        server = uvicorn.Server(config)
        if stop is not None:

            def stop_when_asked() -> None:
                stop.wait()
                server.should_exit = True

            threading.Thread(target=stop_when_asked, daemon=True).start()
        log.info(
            "review server on http://%s:%d/ (auth %s)", serve.host, serve.port, "on" if serve.auth else "off"
        )
        server.run()


def with_overrides(serve: ServeConfig, **values: object) -> ServeConfig:
    """``serve`` with the non-None values replaced, validated again (e.g. --host 0.0.0.0 --no-auth fails)."""
    data = serve.model_dump()
    data.update({k: v for k, v in values.items() if v is not None})
    return ServeConfig.model_validate(data)
