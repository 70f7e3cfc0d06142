"""``haad serve`` started while its alert log does not answer (a review host booting before its
database, a SQLite log no worker has made yet): it listens, answers 503 "alert log unreachable",
and serves the log once it answers. It exited 1, "cannot open …", so a review host booting first
flapped under its unit and one run by hand died."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from edge.store import AlertStore
from tests.edge.events.mqtt_helpers import new_alert
from tests.faults import TcpProxy

UNREACHABLE = "alert log unreachable; try again shortly"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(tmp_path: Path, url: str, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A real ``haad serve`` on ``url`` (its state, the one-off token, in ``tmp_path``); its base URL."""
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump({"store": {"url": url}}))
    port = _free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "haad", "serve", "--config", str(config), "--port", str(port), *extra],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield serve, f"http://127.0.0.1:{port}"
    finally:
        serve.terminate()
        serve.wait(timeout=15)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:  # not listening yet
        return 0, ""


def _until(serve: subprocess.Popen[str], url: str, status: int, within_s: float) -> str:
    """The body of ``url`` once it answers ``status`` (asked every 0.1 s); fails if the server exits."""
    deadline = time.monotonic() + within_s
    while True:
        assert serve.poll() is None, f"haad serve exited {serve.returncode}: {serve.stderr.read()}"  # type: ignore[union-attr]
        got, body = _get(url)
        if got == status:
            return body
        assert time.monotonic() < deadline, f"{url} still answers {got} after {within_s} s: {body[:200]}"
        time.sleep(0.1)


def _alert_ids(body: str) -> list[int]:
    return [a["id"] for a in json.loads(body)["items"]]


def _stderr_after_stop(serve: subprocess.Popen[str]) -> list[str]:
    serve.terminate()
    _, err = serve.communicate(timeout=15)
    return err.splitlines()


@pytest.mark.parametrize("up_after_s", [0.0, 1.0, 5.0])
def test_serve_started_while_postgresql_is_down_serves_it_once_it_answers(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str], pg_url: str, up_after_s: float
) -> None:
    proxy, through_proxy = pg_proxy
    with AlertStore(pg_url) as store:
        ids = store.write_alerts([new_alert("door", closed=True)])
    proxy.set("refuse")
    with _serving(tmp_path, through_proxy) as (serve, base):
        got = _until(serve, f"{base}/healthz", 503, 30)  # listening, though the log is down
        assert json.loads(got) == {"status": "database unreachable"}
        # Signing in needs no log: the one-off token works while it is down, a wrong one does not.
        token = {"Authorization": f"Bearer {(tmp_path / 'serve-token').read_text().strip()}"}
        assert _get(f"{base}/api/v1/me", token)[0] == 200
        assert _get(f"{base}/api/v1/me", {"Authorization": "Bearer wrong"})[0] == 401
        status, body = _get(f"{base}/api/v1/alerts", token)
        assert (status, json.loads(body)) == (503, {"detail": UNREACHABLE})
        time.sleep(up_after_s)
        proxy.set("forward")
        got = _until(serve, f"{base}/healthz", 200, 15)
        assert json.loads(got) == {"status": "ok"}
        status, alerts = _get(f"{base}/api/v1/alerts", token)
        assert status == 200 and _alert_ids(alerts) == ids
        lines = _stderr_after_stop(serve)
    # One line as it starts and one as the log answers, never one per request or a traceback.
    down = [line for line in lines if "alert log" in line]
    assert len(down) == 2, lines
    assert "does not answer" in down[0] and "503" in down[0]
    assert "answers: serving it" in down[1]
    assert not any("Traceback" in line for line in lines)


def test_serve_follows_a_log_that_comes_up_goes_down_and_up_again(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str], pg_url: str
) -> None:
    proxy, through_proxy = pg_proxy
    proxy.set("refuse")
    with _serving(tmp_path, through_proxy, "--no-auth") as (serve, base):
        _until(serve, f"{base}/api/v1/alerts", 503, 30)
        proxy.set("forward")  # up for a moment, maybe between two tries to open it
        time.sleep(0.3)
        proxy.set("refuse")
        time.sleep(2.5)
        proxy.set("forward")
        # The schema made by the server's own open once it answered (a log no worker wrote yet).
        assert _alert_ids(_until(serve, f"{base}/api/v1/alerts", 200, 15)) == []
        proxy.set("refuse")  # down after it opened: the outage path
        _until(serve, f"{base}/api/v1/alerts", 503, 15)
        with AlertStore(pg_url) as store:
            ids = store.write_alerts([new_alert("door")])
        proxy.set("forward")
        assert _alert_ids(_until(serve, f"{base}/api/v1/alerts", 200, 15)) == ids


def test_a_log_of_a_newer_schema_answering_later_is_refused_not_served(
    tmp_path: Path, pg_proxy: tuple[TcpProxy, str], pg_url: str
) -> None:
    proxy, through_proxy = pg_proxy
    AlertStore(pg_url).close()
    engine = create_engine(pg_url)
    with engine.begin() as conn:  # as a newer haad on another host leaves it
        conn.execute(text("UPDATE alembic_version SET version_num = 'fffffffffff9'"))
    engine.dispose()
    proxy.set("refuse")
    with _serving(tmp_path, through_proxy, "--no-auth") as (serve, base):
        _until(serve, f"{base}/api/v1/alerts", 503, 30)
        proxy.set("forward")
        assert serve.wait(timeout=20) == 1
        err = serve.stderr.read()  # type: ignore[union-attr]
    assert err.splitlines()[-1].startswith("error: cannot open postgresql+psycopg://")
    assert "SchemaTooNew: the alert log's schema is at revision fffffffffff9, newer than this haad" in err


def test_serve_before_the_worker_made_its_sqlite_log_waits_for_the_file(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    with _serving(tmp_path, f"sqlite:///{db}", "--no-auth") as (serve, base):
        assert json.loads(_until(serve, f"{base}/api/v1/alerts", 503, 30)) == {"detail": UNREACHABLE}
        assert _get(f"{base}/healthz")[0] == 503
        assert _get(f"{base}/alerts/1")[0] == 503  # a page that reads the log
        time.sleep(2.5)  # tries to open it meanwhile
        assert not db.exists()  # never made by a reader: the worker's would be another file
        with AlertStore(f"sqlite:///{db}") as store:  # the worker's first start
            ids = store.write_alerts([new_alert("door")])
        assert _alert_ids(_until(serve, f"{base}/api/v1/alerts", 200, 15)) == ids
