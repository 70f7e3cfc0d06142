"""The review server stopped (``haad serve`` restarted, ``haad run`` stopping) while pages are open:
their live streams never end by themselves, so Uvicorn waited out its graceful timeout (3 s), then
cancelled each, logging "Exception in ASGI application" with a traceback per open page. They now end
as the shutdown begins. The server is the product's (run_server, its QuietServer and Uvicorn config)."""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack

import httpx
import pytest
from review_helpers import AUTH, TOKEN, Seeded, free_port

from config.edge import EdgeConfig
from config.serve import ServeConfig, TokenConfig
from edge.review.auth import token_sha256
from edge.review.server import run_server


@pytest.mark.parametrize("streams", [1, 3])
def test_open_live_streams_end_as_the_server_stops(
    module_log: Seeded, caplog: pytest.LogCaptureFixture, streams: int
) -> None:
    port = free_port()
    serve = ServeConfig(
        port=port, encoder=False, tokens=[TokenConfig(name="alice", sha256=token_sha256(TOKEN))]
    )
    cfg = EdgeConfig.model_validate(
        {"store": {"url": module_log.url}, "profiles_dir": str(module_log.profiles)}
    )
    stop = threading.Event()
    server = threading.Thread(target=run_server, args=(cfg, serve, stop), daemon=True)
    caplog.set_level(logging.INFO)
    server.start()
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client, ExitStack() as pages:
        for _ in range(200):  # until it listens
            try:
                client.get("/healthz")
                break
            except httpx.ConnectError:
                threading.Event().wait(0.05)
        lines = [
            pages.enter_context(client.stream("GET", "/api/v1/events/live")).iter_lines()
            for _ in range(streams)
        ]
        assert all(next(stream).startswith("retry:") for stream in lines)
        stop.set()
        for stream in lines:
            list(stream)  # it ends (before: 3 s, then a cut connection)
    server.join(30)
    assert not server.is_alive()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
