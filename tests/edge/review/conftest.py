"""Fixtures of the review-server tests: the seeded log, the app under TestClient and under a real
Uvicorn server, and Debian's Chromium through Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Seeded,
    free_port,
    logged_in_context,
    make_context,
    new_context,
    review_client,
    running,
    seed,
    served,
    watched_page,
)

from edge.review.app import create_app


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    return seed(f"sqlite:///{tmp_path / 'alerts.db'}", profiles)


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    """The app with bearer-token auth, on the seeded SQLite log."""
    with review_client(seeded) as c:
        yield c


@pytest.fixture
def live_server(seeded: Seeded) -> Iterator[str]:
    """The app under a real Uvicorn server on a free loopback port; yields its base URL."""
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            yield base
    finally:
        ctx.store.close()


@pytest.fixture(scope="module")
def module_log(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A seeded log shared by a module's tests (each leaves it as it found it, or uses alerts of its own)."""
    folder = tmp_path_factory.mktemp("module-log")
    (folder / "profiles").mkdir()
    return seed(f"sqlite:///{folder / 'alerts.db'}", folder / "profiles")


@pytest.fixture(scope="module")
def module_server(module_log: Seeded) -> Iterator[str]:
    """A real Uvicorn server on :func:`module_log` for the module; yields its base URL."""
    with served(module_log.url, module_log.profiles) as base:
        yield base


@pytest.fixture(scope="module")
def module_context(browser, module_server: str):  # type: ignore[no-untyped-def]
    """A browser context logged in to :func:`module_server` once; each test opens its own page in it."""
    with logged_in_context(browser, module_server, viewport={"width": 1100, "height": 760}) as context:
        yield context


@pytest.fixture
def module_page(module_context):  # type: ignore[no-untyped-def]
    with watched_page(module_context) as page:
        yield page


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright (Playwright cannot download its own browsers here)."""
    import os

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        why = f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = new_context(browser, viewport={"width": 1100, "height": 760})
    try:
        with watched_page(context) as pg:
            yield pg
    finally:
        context.close()
