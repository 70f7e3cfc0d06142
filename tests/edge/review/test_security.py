"""The review server as another website, a guesser or a careless proxy would meet it: foreign Host
names (DNS rebinding), framing (clickjacking), huge bodies, wrong tokens, cookies over HTTPS, and the
one-off token kept out of the log. Real Uvicorn servers on loopback ports, and TestClient."""

from __future__ import annotations

import json
import logging
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from review_helpers import AUTH, BASE_URL, TOKEN, Seeded, make_context

from config.edge import EdgeConfig
from config.serve import ServeConfig
from edge.review.alert_log import ReviewLog
from edge.review.app import create_app
from edge.review.server import build_context, uvicorn_config
from edge.store import AlertStore

FIVE_MB = b"x" * (5 << 20)


@pytest.fixture
def no_auth(seeded: Seeded) -> Iterator[TestClient]:
    """`haad serve --no-auth`: loopback, no token."""
    ctx = make_context(seeded.url, seeded.profiles, auth=False)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        yield c
    ctx.store.close()


def test_a_foreign_host_name_is_refused_so_dns_rebinding_reaches_nothing(no_auth: TestClient) -> None:
    assert no_auth.get("/api/v1/me").status_code == 200
    for host in ("rebind.attacker.example", "rebind.attacker.example:8910", "127.0.0.1.nip.io"):
        response = no_auth.get("/api/v1/me", headers={"Host": host})
        assert response.status_code == 421 and "csrf" not in response.text, host
    post = no_auth.post(
        "/api/v1/alerts/1/review", json={"status": "dismissed"}, headers={"Host": "evil.example"}
    )
    assert post.status_code == 421
    for host in ("localhost:8910", "[::1]:8910", "127.0.0.1"):
        assert no_auth.get("/api/v1/me", headers={"Host": host}).status_code == 200, host


def test_every_response_forbids_framing(no_auth: TestClient, client: TestClient) -> None:
    responses = [no_auth.get("/"), no_auth.get("/alerts/1"), no_auth.get("/static/app.js"),
                 no_auth.get("/api/v1/me"), no_auth.get("/nowhere"), client.get("/login"),
                 client.get("/api/v1/me"), no_auth.get("/", headers={"Host": "evil.example"})]  # fmt: skip
    for r in responses:
        assert r.headers["x-frame-options"] == "DENY", r.url
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], r.url


def test_a_large_body_gets_413_before_auth_and_no_body_is_echoed(
    no_auth: TestClient, client: TestClient
) -> None:
    note = no_auth.post("/api/v1/alerts/1/review", json={"status": "dismissed", "note": "n" * (5 << 20)})
    assert note.status_code == 413 and len(note.content) < 200
    anonymous = client.post(
        "/api/v1/alerts/1/review", content=FIVE_MB, headers={"Content-Type": "application/json"}
    )
    assert anonymous.status_code == 413  # decided from Content-Length, before the token is asked for
    chunks = no_auth.post(
        "/api/v1/alerts/1/review", content=iter([FIVE_MB[: 1 << 20]] * 5)
    )  # no Content-Length
    assert chunks.status_code == 413
    # under the limit but invalid: the 422 says where and why, without the input
    long_note = "secret-looking-note-" * 5000
    invalid = client.post(
        "/api/v1/alerts/1/review", json={"status": "dismissed", "note": long_note}, headers=AUTH
    )
    assert (
        invalid.status_code == 422
        and "secret-looking-note" not in invalid.text
        and len(invalid.content) < 2000
    )


def test_wrong_tokens_back_off_and_a_right_one_afterwards_gets_in(client: TestClient) -> None:
    backoff = client.app.state.ctx.auth.backoff  # type: ignore[attr-defined]
    waited = [0.0]  # the wait below, on the backoff's own clock rather than the test's time
    backoff.clock = lambda: time.monotonic() + waited[0]
    wrong = {"Authorization": "Bearer not-the-token"}
    codes = [client.get("/api/v1/me", headers=wrong).status_code for _ in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    blocked = client.get("/api/v1/me", headers=AUTH)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    login = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert login.status_code == 429  # the login form counts the same
    waited[0] = float(blocked.headers["retry-after"]) + 0.1
    assert client.get("/api/v1/me", headers=AUTH).status_code == 200
    assert client.get("/api/v1/me", headers=wrong).status_code == 401  # the right token reset the count


def _login_cookie(base: str, headers: dict[str, str]) -> str:
    response = httpx.post(f"{base}/login", data={"token": TOKEN}, headers=headers, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"].lower()


@pytest.mark.parametrize("trusted", [True, False])
def test_the_session_cookie_is_secure_whenever_the_browser_used_https(seeded: Seeded, trusted: bool) -> None:
    import threading

    import uvicorn
    from review_helpers import free_port

    port = free_port()
    ctx = make_context(
        seeded.url, seeded.profiles, port=port, trusted_proxies=["127.0.0.1"] if trusted else []
    )
    server = uvicorn.Server(uvicorn_config(create_app(ctx), ctx.cfg))  # as `haad serve` runs it
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        assert "secure" not in _login_cookie(base, {})  # plain HTTP, no proxy: a Secure cookie would be lost
        behind_tls = _login_cookie(base, {"X-Forwarded-Proto": "https"})
        # a proxy we trust says the browser used HTTPS: Secure; anyone else saying so is ignored
        assert ("; secure" in behind_tls) is trusted
    finally:
        server.should_exit = True
        thread.join(10)
        ctx.store.close()


def test_the_one_off_token_is_never_logged_and_kept_private(
    tmp_path: Path, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = EdgeConfig(state_dir=str(tmp_path), profiles_dir=str(seeded.profiles))
    with AlertStore(seeded.url) as store, caplog.at_level(logging.INFO):
        ctx = build_context(cfg, ServeConfig(encoder=False), ReviewLog(store))
    (token,) = [t for t in ctx.auth.hashes.values() if t == "admin"] and [
        (tmp_path / "serve-token").read_text().strip()
    ]
    assert ctx.auth.check_token(token) == "admin"
    assert stat.S_IMODE((tmp_path / "serve-token").stat().st_mode) == 0o600
    assert token not in caplog.text and str(tmp_path / "serve-token") in caplog.text


def test_a_live_event_stream_ends_with_its_session(seeded: Seeded) -> None:
    """A tab left open kept receiving every alert change after its session was logged out (or had
    expired): the stream was authorised once, when it opened."""
    from datetime import UTC, datetime

    from review_helpers import demo_alert, free_port, running

    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            # each case on a session of its own, one server for all
            for ended_by in ("logout", "expiry"):
                for wait_s in (0.0, 0.3, 0.6):  # the change lands anywhere in the stream's poll
                    case = f"{ended_by}, then {wait_s} s"
                    with httpx.Client(base_url=base, timeout=30) as browser:
                        assert browser.post("/login", data={"token": TOKEN}).status_code == 303, case
                        csrf = browser.get("/api/v1/me").json()["csrf_token"]
                        with browser.stream("GET", "/api/v1/events/live") as stream:
                            lines = stream.iter_lines()
                            assert next(lines).startswith("retry:"), case
                            if ended_by == "logout":
                                logout = browser.post("/logout", headers={"X-CSRF-Token": csrf})
                                assert logout.status_code == 303, case
                            else:
                                for session in ctx.auth.sessions.values():
                                    session.expires = time.time() - 1
                            time.sleep(wait_s)
                            with AlertStore(seeded.url) as store:  # an alert change after it
                                store.write_alerts(
                                    [demo_alert("door", "demo-walk", datetime.now(UTC), seed=21)]
                                )
                            # the stream ends without it, saying why (before, its data came: a hang
                            # here cannot happen)
                            said = [line for line in lines if line.startswith(("event:", "data:"))]
                            assert said == ["event: signed-out", "data: {}"], case
                        assert browser.get("/api/v1/events/live").status_code == 401, case
    finally:
        ctx.store.close()


@pytest.mark.parametrize("resumed", [False, True])  # a page's first stream; a reconnect with Last-Event-ID
def test_a_live_event_stream_waits_out_an_alert_log_outage_with_one_log_line(
    tmp_path: Path, pg_proxy: tuple[Any, str], caplog: pytest.LogCaptureFixture, resumed: bool
) -> None:
    """The shared PostgreSQL log going down broke every open live stream with a traceback in the
    server's log, and each page's reconnect, every 2 s, logged another; the stream now waits, says
    so once, and goes on with the changes made once the log is back."""
    import logging
    from datetime import UTC, datetime

    from review_helpers import demo_alert, free_port, running

    proxy, url = pg_proxy
    (tmp_path / "profiles").mkdir()
    port = free_port()
    ctx = make_context(url, tmp_path / "profiles", port=port)
    caplog.set_level(logging.WARNING)
    try:
        with running(create_app(ctx), port) as base, httpx.Client(base_url=base, timeout=30) as client:
            headers = {**AUTH, "Last-Event-ID": "0"} if resumed else AUTH
            with client.stream("GET", "/api/v1/events/live", headers=headers) as stream:
                lines = stream.iter_lines()
                assert next(lines).startswith("retry:")
                proxy.set("refuse")
                deadline = time.monotonic() + 30
                while "live updates: alert log unreachable" not in caplog.text:
                    assert time.monotonic() < deadline, caplog.text
                    time.sleep(0.05)
                proxy.set("forward")
                with AlertStore(url) as store:
                    [alert_id] = store.write_alerts(
                        [demo_alert("door", "demo-walk", datetime.now(UTC), seed=22)]
                    )
                data = next(line for line in lines if line.startswith("data:") and '"alert"' in line)
                assert json.loads(data[5:])["alert"]["id"] == alert_id
        assert caplog.text.count("live updates: alert log unreachable") == 1
        assert not [r for r in caplog.records if r.exc_info], caplog.text  # no traceback
    finally:
        ctx.store.close()


def test_an_unreachable_log_error_without_a_message_is_still_one_line() -> None:
    """The driver's first line was taken as given: an error with none (an empty message) raised
    IndexError in the 503 handler, a 500 with a traceback instead."""
    from sqlalchemy.exc import OperationalError

    from edge.review.unreachable import why_unreachable

    assert why_unreachable(OperationalError("SELECT 1", {}, Exception())) == "OperationalError: (no message)"
    said = why_unreachable(OperationalError("SELECT 1", {}, Exception("connection refused\nDETAIL: more")))
    assert said == "OperationalError: connection refused"


def test_head_is_answered_as_get_without_the_body(client: TestClient, live_server: str) -> None:
    """HEAD was 405 on every page and route but the static files (a health check's HEAD /healthz
    too). A HEAD of the live events, a stream that never ends, answers at once and the connection
    goes on serving (Uvicorn)."""
    for path in ("/healthz", "/favicon.ico", "/api/v1/alerts?limit=2"):
        get, head = client.get(path, headers=AUTH), client.head(path, headers=AUTH)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["content-length"] == get.headers["content-length"] != "0"
        assert head.headers["x-frame-options"] == "DENY"
    assert client.head("/api/v1/alerts").status_code == 401
    assert client.head("/", follow_redirects=False).headers["location"].startswith("/login")
    with httpx.Client(base_url=live_server, headers=AUTH, timeout=3) as c:
        r = c.head("/api/v1/events/live")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert c.get("/api/v1/me").json()["name"] == "alice"  # the same connection, not held by the stream
