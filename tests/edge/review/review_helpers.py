"""Helpers of the review-server tests: an alert log seeded with alerts whose windows are real
skeleton motion (the synthetic performer), a copy of the bundled demo profile, the app's context."""

from __future__ import annotations

import hashlib
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi.testclient import TestClient

from config.serve import ServeConfig, TokenConfig
from edge.demo import PROFILES_DIR
from edge.profiles import ProfileStore
from edge.review.alert_log import ReviewLog
from edge.review.app import create_app
from edge.review.auth import Auth, token_sha256
from edge.review.context import ReviewContext
from edge.store import AlertStore, NewAlert
from pose_frontend.synthetic import SyntheticPerformer

if TYPE_CHECKING:
    from fastapi import FastAPI

TOKEN = "test-token-alice-0123456789"
SPEC_FPS, FRAMES, STRIDE = 20.0, 60, 5


def performance_windows(motion: str, seconds: float, seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` consecutive windows (60 frames at 20 fps, 0.25 s apart) of a synthetic performance:
    raw canonical ``(k, 60, 20, 3)`` in metres, and their ``(k, 2)`` source times."""
    times, joints = SyntheticPerformer([(motion, seconds)], fps=SPEC_FPS, seed=seed).render()
    starts = [i * STRIDE for i in range(k) if i * STRIDE + FRAMES <= len(joints)]
    windows = np.stack([joints[s : s + FRAMES] for s in starts]).astype(np.float32)
    spans = np.array([[times[s], times[s + FRAMES - 1]] for s in starts], dtype=np.float64)
    return windows, spans


def demo_alert(stream: str, profile: str, started_at: datetime, *, seed: int, closed: bool = True,
               motion: str = "jump_flail", threshold: float = 0.9, nearest: str | None = None) -> NewAlert:  # fmt: skip
    windows, spans = performance_windows(motion, 6.0, seed, 6)
    scores = np.linspace(threshold * 1.05, threshold * 1.6, len(windows))
    duration = float(spans[-1, 1] - spans[0, 0])
    key = f"{stream}-{profile}-{seed}-{started_at.isoformat()}"
    return NewAlert(
        episode_key=key if len(key) <= 64 else hashlib.sha1(key.encode()).hexdigest(), stream_id=stream, profile=profile, profile_version=1, started_at=started_at,
        ended_at=started_at + timedelta(seconds=duration) if closed else None,
        peak_score=float(scores.max()), mean_score=float(scores.mean()), threshold=threshold,
        n_windows=len(windows) + 3, model_version="f4695475fc8b", windows=windows, window_times=spans,
        window_scores=scores, timeline=timeline(spans, scores), nearest=nearest,
    )  # fmt: skip


def timeline(spans: np.ndarray, scores: np.ndarray, tail_s: float = 2.0) -> np.ndarray:
    """An episode's timeline: a score every 0.25 s from the first window's middle, the windows'
    scores, then ``tail_s`` of cold ones (at 0.6 of the first score) until it closed."""
    middles = spans.mean(axis=1)
    t = np.arange(middles[0], middles[-1] + tail_s + 1e-9, 0.25)
    score = np.where(t <= middles[-1] + 1e-9, np.interp(t, middles, scores), 0.6 * scores[0])
    return np.stack([t, score], axis=1)


@dataclass
class Seeded:
    url: str
    profiles: Path
    ids: list[int]  # newest last: door/demo-walk x3, dock/demo-walk x2 (one open), yard/other x1


def seed(url: str, profiles: Path) -> Seeded:
    shutil.copytree(PROFILES_DIR / "demo-walk", profiles / "demo-walk")
    now = datetime.now(UTC).replace(microsecond=0)
    alerts = [
        demo_alert("door", "demo-walk", now - timedelta(hours=5), seed=1),
        demo_alert("door", "demo-walk", now - timedelta(hours=4), seed=2),
        demo_alert("door", "demo-walk", now - timedelta(hours=3), seed=3),
        demo_alert("dock", "demo-walk", now - timedelta(hours=2), seed=4, nearest="walk"),
        demo_alert("dock", "demo-walk", now - timedelta(minutes=30), seed=5, closed=False),
        demo_alert("yard", "other", now - timedelta(minutes=10), seed=6),
    ]
    with AlertStore(url) as store:
        ids = store.write_alerts(alerts)
    return Seeded(url, profiles, ids)


def make_context(
    url: str, profiles: Path, snapshots_dir: Path | None = None, **serve: object
) -> ReviewContext:
    from config.backend import OnnxRuntimeConfig
    from edge.backends import make_backend

    cfg = ServeConfig(tokens=[TokenConfig(name="alice", sha256=token_sha256(TOKEN))], **serve)  # type: ignore[arg-type]
    return ReviewContext(
        cfg=cfg,
        log=ReviewLog(AlertStore(url)),
        profiles=ProfileStore(profiles),
        auth=Auth(cfg),
        make_backend=lambda: make_backend(OnnxRuntimeConfig()),
        streams={"door": ["demo-walk"], "dock": ["demo-walk"], "yard": ["other"]},
        snapshots_dir=snapshots_dir,
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE_URL = "http://127.0.0.1:8910"  # TestClient's requests name the host the server answers to


@contextmanager
def review_client(seeded: Seeded) -> Iterator[TestClient]:
    """The app with bearer-token auth on ``seeded``'s log (and profiles), its store closed after."""
    ctx = make_context(seeded.url, seeded.profiles)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        yield c
    ctx.store.close()


@contextmanager
def running(app: FastAPI, port: int) -> Iterator[str]:
    """``app`` under a real Uvicorn server on a loopback ``port``; yields its base URL."""
    import threading
    import time

    import uvicorn

    # A page's open live stream never ends by itself: the graceful shutdown waits out its timeout, then
    # cancels it. Short, as a test's stop does not need the product's 3 s (edge.review.server).
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=0.2)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def served(url: str, profiles: Path, **serve: object) -> Iterator[str]:
    """The app on the log at ``url`` under a real Uvicorn server on a free port; yields its base URL."""
    port = free_port()
    ctx = make_context(url, profiles, port=port, **serve)
    try:
        with running(create_app(ctx), port) as base:
            yield base
    finally:
        ctx.store.close()


@contextmanager
def logged_in_context(browser, base: str, **options: object) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A browser context logged in to ``base`` once, for a module's tests to open their pages in."""
    context = new_context(browser, **options)
    try:
        first = context.new_page()
        log_in(first, base)
        first.close()
        yield context
    finally:
        context.close()


@contextmanager
def watched_page(context) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A new page of ``context``; a JavaScript error on it fails the test. Closed after (its live
    stream with it, before a server stops)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def new_context(browser, **options: object):  # type: ignore[no-untyped-def]
    """A Playwright browser context for these tests. It bypasses the server's Content-Security-Policy,
    which refuses the eval that Playwright's ``wait_for_function`` runs in the page; the pages under
    that policy are test_csrf_browser's."""
    return browser.new_context(bypass_csp=True, **options)


def log_in(page, base: str, target: str = "/", *, wrong_first: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login page, landing on ``target``; ``wrong_first``: a wrong token first,
    refused on the page (test_pages_browser's walk-through; each other test's login skips it)."""
    page.goto(base + target)
    assert "/login" in page.url
    if wrong_first:
        page.fill("#token", "not the token")
        page.click("#login")
        assert page.locator(".error").inner_text() == "Unknown token."
    page.fill("#token", TOKEN)
    page.click("#login")
    page.wait_for_url(lambda url: "/login" not in url)


def mqtt_subscriber(*args: object, **kw: object):  # type: ignore[no-untyped-def]
    """The events tests' MQTT subscriber (tests/edge/events/mqtt_helpers.py)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "events" / "mqtt_helpers.py"
    spec = importlib.util.spec_from_file_location("mqtt_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Subscriber(*args, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
