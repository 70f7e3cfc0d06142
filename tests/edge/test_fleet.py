"""A fleet on one alert log: two ``haad run`` daemons of different hosts write to one PostgreSQL
database (a fresh schema per test) and one ``haad serve`` shows both hosts' alerts, each with its host.
The daemons start together on an empty schema (their migrations take turns under the advisory lock),
and one host's database is down while its alert is raised (the outbox keeps it until it is back)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.daemon_harness import ROOT, demo_profiles, free_port, haad, start_daemon, wait, walk_with
from tests.faults import TcpProxy


def _stream(stream_id: str, *, realtime: bool) -> dict:
    script = walk_with("jump_flail", 5.0, before=6.0, after=6.0)
    return {
        "id": stream_id,
        "source": {"kind": "synthetic", "script": script, "seed": 7, "realtime": realtime},
    }


@pytest.mark.slow
def test_two_daemons_share_one_postgresql_alert_log_and_one_review_server(
    tmp_path: Path, pg_url: str, pg_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url_b = pg_proxy
    profiles = demo_profiles(tmp_path / "profiles")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_daemon(
        tmp_path / "a", [_stream("dock", realtime=False)], profiles, store={"url": pg_url}, host="hall-a"
    )
    b = start_daemon(
        tmp_path / "b", [_stream("gate", realtime=True)], profiles, store={"url": url_b}, host="hall-b"
    )
    server = None
    try:
        # Host b loses its database once frames flow, and gets it back only after its alert was raised.
        wait(lambda: b.metric("haad_frames_received_total", stream="gate") > 0, 40, "host b's frames")
        proxy.set("refuse")
        wait(lambda: b.metric("haad_alerts_total", stream="gate") > 0, 30, "host b's alert (database down)")
        proxy.set("forward")
        assert a.proc.wait(timeout=40) == 0, a.log()
        assert b.proc.wait(timeout=40) == 0, b.log()

        listed = haad("alerts", "list", "--db", pg_url, "--host", "hall-b", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [(x["host"], x["stream_id"]) for x in json.loads(listed.stdout)] == [("hall-b", "gate")]

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "haad", "serve", "--db", pg_url, "--profiles", str(profiles),
             "--no-auth", "--port", str(port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def get(path: str) -> object:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1{path}", timeout=5) as r:
                return json.loads(r.read())

        def up() -> bool:
            try:
                get("/hosts")
                return True
            except OSError:
                return False

        wait(up, 30, "haad serve")
        assert get("/hosts") == ["hall-a", "hall-b"]
        page = get("/alerts")
        assert isinstance(page, dict)
        assert sorted((x["host"], x["stream_id"]) for x in page["items"]) == [
            ("hall-a", "dock"),
            ("hall-b", "gate"),
        ]
        only_a = get("/alerts?host=hall-a")
        assert isinstance(only_a, dict) and [x["stream_id"] for x in only_a["items"]] == ["dock"]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        for d in (a, b):
            d.stop()


@pytest.mark.parametrize("outage", ["refuse", "refuse-after-idle"])
def test_the_review_server_answers_503_while_the_shared_log_is_down_and_recovers(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str], outage: str
) -> None:
    """The fleet's one PostgreSQL log going away must not turn `haad serve` into 500s with tracebacks:
    the API says the alert log is unreachable (503), a page says so too, and both work again once the
    server is back. Down with the pool's connection in use a moment ago, and after it idled."""
    from fastapi.testclient import TestClient

    from edge.review.app import create_app
    from tests.edge.review.review_helpers import AUTH, BASE_URL, make_context

    proxy, url = pg_proxy
    (tmp_path / "profiles").mkdir()
    ctx = make_context(url, tmp_path / "profiles")
    try:
        with TestClient(create_app(ctx), base_url=BASE_URL) as client:
            assert client.get("/api/v1/alerts", headers=AUTH).status_code == 200
            if outage == "refuse-after-idle":
                ctx.store.close()  # no pooled connection left: the next call must connect
            proxy.set("refuse")
            for _ in range(2):  # the pooled connection found dead, then a new one refused
                down = client.get("/api/v1/alerts", headers=AUTH)
                assert down.status_code == 503, down.text
                assert "alert log unreachable" in down.json()["detail"]
                assert "Traceback" not in down.text and "@" not in down.json()["detail"]
            page = client.get("/alerts/1", headers=AUTH)
            assert page.status_code == 503 and "alert log unreachable" in page.text
            proxy.set("forward")
            assert client.get("/api/v1/alerts", headers=AUTH).status_code == 200
    finally:
        ctx.store.close()
