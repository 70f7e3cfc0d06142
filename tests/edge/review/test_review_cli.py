"""``haad serve``, ``haad alerts review --normal``, ``show --plot``, ``prune`` and ``haad events``
through Typer's CliRunner on a real SQLite log and real profiles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from review_helpers import Seeded, free_port, seed
from typer.testing import CliRunner

from edge.profiles import ProfileStore
from edge.store import AlertStore
from haad.cli import app

runner = CliRunner()


def _said(output: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def _config(tmp_path: Path, seeded: Seeded, **extra: object) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(
        yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles), **extra})
    )
    return path


def test_serve_help_and_refusing_an_open_host_without_auth(seeded: Seeded) -> None:
    r = runner.invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--no-auth" in r.output and "token" in r.output
    r = runner.invoke(app, ["serve", "--db", seeded.url, "--host", "0.0.0.0", "--no-auth"])
    assert r.exit_code == 2 and "loopback" in _said(r.output)


def test_serve_refuses_bad_values_in_one_line_each(seeded: Seeded) -> None:
    r = runner.invoke(app, ["serve", "--db", seeded.url, "--host", "0.0.0.0", "--no-auth"])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "errors.pydantic.dev" not in r.output, r.output
    r = runner.invoke(app, ["serve", "token", "--name", "a b"])
    assert r.exit_code == 2 and r.output.count("\n") == 1, r.output
    assert r.output.startswith("error: name: String should match pattern"), r.output


@pytest.mark.parametrize("command", [["serve", "--no-auth"], ["events", "status"]])
def test_serve_and_events_refuse_a_database_that_is_missing_or_not_one(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *_, **__: None)  # a server that starts returns at once
    serve = command[0] == "serve"  # serve starts without its log (503 until it answers: 745e69d)
    missing = tmp_path / "missing.db"
    r = runner.invoke(app, [*command, "--db", f"sqlite:///{missing}"])
    if serve:
        assert r.exit_code == 0, r.output  # what it logs: tests/haad/cli/test_serve_log_down_at_start.py
    else:
        assert r.exit_code == 1 and f"no alert database at {missing}" in _said(r.output), r.output
    assert not missing.exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database\n")
    r = runner.invoke(app, [*command, "--db", f"sqlite:///{garbage}"])
    assert r.exit_code == 1 and "cannot open" in r.output and "file is not a database" in r.output, r.output
    r = runner.invoke(app, [*command, "--db", "postgresql://haad@127.0.0.1:1/test"])
    if serve:
        assert r.exit_code == 0, r.output
    else:
        assert r.exit_code == 1 and "cannot open postgresql+psycopg://***@127.0.0.1:1/test" in r.output, (
            r.output
        )


def test_a_second_server_on_a_busy_port_fails_in_one_line_and_leaves_the_running_ones_token(
    tmp_path: Path, seeded: Seeded
) -> None:
    """It wrote a new one-off token over the running server's before failing, locking its users out."""
    import socket

    token = tmp_path / "state" / "serve-token"
    token.parent.mkdir()
    token.write_text("the running server's\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = _config(tmp_path, seeded, state_dir=str(token.parent))
        r = runner.invoke(app, ["serve", "--config", str(config), "--port", str(port)])
    assert r.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in _said(r.output), r.output
    assert token.read_text() == "the running server's\n"


@pytest.mark.parametrize("stop_with", ["SIGINT", "SIGTERM"])
def test_serve_stopped_by_ctrl_c_or_sigterm_exits_0_like_the_other_long_running_commands(
    tmp_path: Path, seeded: Seeded, stop_with: str
) -> None:
    """Uvicorn raised the signal again once shut down: haad serve exited 130 on Ctrl-C and was killed
    by SIGTERM, where haad run, demo, events run and frontend run stop with 0."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    config = _config(tmp_path, seeded, state_dir=str(tmp_path / "state"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "haad", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # until it serves (a loaded machine takes seconds to import and start)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0][-800:]
                time.sleep(0.1)
        proc.send_signal(getattr(signal, stop_with))
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output[-800:]
        assert "Traceback" not in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_token_prints_a_token_whose_hash_the_config_accepts() -> None:
    from config.serve import ServeConfig
    from edge.review.auth import Auth

    r = runner.invoke(app, ["serve", "token", "--name", "bob"])
    assert r.exit_code == 0, r.output
    token = re.search(r"token for bob: (\S+)", r.output)[1]  # type: ignore[index]
    entry = yaml.safe_load(r.output.split("serve.tokens:\n", 1)[1])
    auth = Auth(ServeConfig(tokens=entry))
    assert auth.check_token(token) == "bob" and auth.check_token(token + "x") is None


def test_without_streams_in_the_config_mark_as_normal_names_the_cameras_the_alert_log_shows(
    tmp_path: Path, seeded: Seeded
) -> None:
    """A review host's edge.yaml (store, profiles) or none: "every camera" named the defaults'
    placeholder camera cam0, none of this log's, in the CLI, the page and the API."""
    from fastapi.testclient import TestClient
    from review_helpers import AUTH, BASE_URL, TOKEN

    from config.edge import EdgeConfig
    from config.serve import ServeConfig, TokenConfig
    from edge.review.alert_log import ReviewLog
    from edge.review.app import create_app
    from edge.review.auth import token_sha256
    from edge.review.server import build_context

    cfg = _config(tmp_path, seeded)
    alert_id = seeded.ids[0]  # door; dock's alerts are against demo-walk too
    r = runner.invoke(app, ["alerts", "review", str(alert_id), "--normal", "--scope", "all", "--config", str(cfg)],
                      input="n\n")  # fmt: skip
    assert "every camera using it: changes dock, door" in r.output, r.output
    serve = ServeConfig(tokens=[TokenConfig(name="alice", sha256=token_sha256(TOKEN))], encoder=False)
    edge = EdgeConfig(store={"url": seeded.url}, profiles_dir=str(seeded.profiles), state_dir=str(tmp_path))
    with AlertStore(seeded.url) as store:
        ctx = build_context(edge, serve, ReviewLog(store))
        with TestClient(create_app(ctx), base_url=BASE_URL) as c:
            preview = c.get(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH).json()
            streams = [s["stream_id"] for s in c.get("/api/v1/streams", headers=AUTH).json()]
    assert preview["scopes"] == {"camera": ["door"], "all": ["dock", "door"]}
    assert streams == ["dock", "door", "yard"]


def test_mark_as_normal_with_an_encoder_that_cannot_load_says_so_in_one_line(
    tmp_path: Path, seeded: Seeded
) -> None:
    """A damaged checkpoint (or a camera host's encoder path on a review host): a traceback from the
    CLI, a 500 from the API."""
    from fastapi.testclient import TestClient
    from review_helpers import AUTH, BASE_URL, make_context

    from config.backend import OnnxRuntimeConfig
    from edge.backends import make_backend
    from edge.review.app import create_app

    (tmp_path / "enc.onnx").write_bytes(b"not a model")
    (tmp_path / "enc.json").write_text("{}")
    cfg = _config(tmp_path, seeded, encoder=str(tmp_path / "enc.onnx"))
    args = [
        "alerts",
        "review",
        str(seeded.ids[0]),
        "--normal",
        "--scope",
        "camera",
        "-y",
        "--config",
        str(cfg),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "error: cannot re-embed: ValueError" in r.output, r.output
    assert "Traceback" not in r.output and ProfileStore(seeded.profiles).versions("demo-walk") == [1]
    ctx = make_context(seeded.url, seeded.profiles)
    ctx.make_backend = lambda: make_backend(OnnxRuntimeConfig(), tmp_path / "enc.onnx")
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        r2 = c.post(f"/api/v1/alerts/{seeded.ids[0]}/normal", json={"scope": "camera"}, headers=AUTH)
    ctx.store.close()
    assert r2.status_code == 503 and "cannot re-embed: ValueError" in r2.json()["detail"], r2.text


def test_review_normal_names_the_cameras_it_changes_asks_and_undo_reverts(
    tmp_path: Path, seeded: Seeded
) -> None:
    streams = [{"id": "door", "profiles": ["demo-walk"]}, {"id": "dock", "profiles": ["demo-walk"]}]
    cfg = _config(tmp_path, seeded, streams=streams)
    alert_id = seeded.ids[0]  # door
    base = ["alerts", "review", str(alert_id), "--normal", "--db", seeded.url, "--config", str(cfg)]
    r = runner.invoke(app, base)
    assert r.exit_code == 2 and "--scope" in _said(r.output)
    r = runner.invoke(app, [*base, "--scope", "all"], input="n\n")  # shown, then declined: nothing written
    assert (
        r.exit_code == 1
        and "normal for profile demo-walk, every camera using it: changes dock, door" in r.output
    )
    assert ProfileStore(seeded.profiles).latest_version("demo-walk") == 1
    r = runner.invoke(
        app, [*base, "--scope", "all", "--note", "forklift", "--reviewer", "carol"], input="y\n"
    )
    assert r.exit_code == 0, r.output
    assert "normal for dock, door" in r.output and "v1 -> v2" in r.output and "unchanged" in r.output
    v2 = ProfileStore(seeded.profiles).load("demo-walk")
    assert v2.meta["feedback"][-1]["reviewer"] == "carol" and v2.meta["feedback"][-1]["alert_ids"] == [
        alert_id
    ]
    with AlertStore(seeded.url) as store:
        a = store.get_alert(alert_id)
    assert a.status == "dismissed" and a.reviewed_by == "carol" and "forklift" in a.note
    r = runner.invoke(app, [*base, "--scope", "camera", "--yes"])  # named the command to undo it by
    assert r.exit_code == 1 and (
        f"already normal in demo-walk: undo that first: haad alerts review {alert_id} --undo-normal"
        in _said(r.output)
    ), r.output
    r = runner.invoke(
        app, ["alerts", "review", str(alert_id), "--undo-normal", "--db", seeded.url, "--config", str(cfg)]
    )
    assert r.exit_code == 0, r.output
    assert ProfileStore(seeded.profiles).latest_version("demo-walk") == 3
    other = [
        "alerts",
        "review",
        str(seeded.ids[1]),
        "--normal",
        "--scope",
        "camera",
        "--yes",
        "--db",
        seeded.url,
    ]
    r = runner.invoke(app, [*other, "--config", str(cfg)])
    assert r.exit_code == 0 and "normal for door;" in r.output and "for camera door" in r.output
    assert ProfileStore(seeded.profiles).latest_version("demo-walk") == 3  # the camera's overlay took it
    r = runner.invoke(
        app, ["alerts", "review", str(alert_id), "--normal", "--status", "confirmed", "--db", seeded.url]
    )
    assert r.exit_code == 2
    r = runner.invoke(app, ["alerts", "review", "999", "--normal", "--scope", "camera", "--db", seeded.url,
                            "--config", str(cfg)])  # fmt: skip
    assert r.exit_code == 1 and "no alert with id 999" in _said(r.output)


def test_review_normal_refuses_a_bad_behaviour_name_as_bad_usage(tmp_path: Path, seeded: Seeded) -> None:
    cfg = _config(tmp_path, seeded, streams=[{"id": "door", "profiles": ["demo-walk"]}])
    base = ["alerts", "review", str(seeded.ids[0]), "--normal", "--scope", "all", "--yes", "--db", seeded.url]
    for name in ("x/y", ""):
        r = runner.invoke(app, [*base, "--config", str(cfg), "--behaviour", name])
        assert r.exit_code == 2 and "invalid behaviour name" in _said(r.output), r.output
    assert ProfileStore(seeded.profiles).latest_version("demo-walk") == 1


def test_review_normal_of_a_multi_profile_alert_without_profile_is_bad_usage(
    tmp_path: Path, seeded: Seeded
) -> None:
    from datetime import UTC, datetime

    from review_helpers import demo_alert

    with AlertStore(seeded.url) as store:
        (alert_id,) = store.write_alerts([demo_alert("door", "demo-walk+other", datetime.now(UTC), seed=7)])
    base = ["alerts", "review", str(alert_id), "--normal", "--scope", "camera", "--yes", "--db", seeded.url]
    r = runner.invoke(app, [*base, "--config", str(_config(tmp_path, seeded))])
    assert r.exit_code == 2 and "against several profiles (demo-walk, other)" in _said(r.output), r.output
    r = runner.invoke(app, [*base, "--profile", "nope", "--config", str(_config(tmp_path, seeded))])
    assert r.exit_code == 2 and "did not score this alert" in _said(r.output), r.output


def test_show_plot_writes_png_and_svg(tmp_path: Path, seeded: Seeded) -> None:
    for name in ("t.png", "t.svg"):
        r = runner.invoke(
            app, ["alerts", "show", str(seeded.ids[0]), "--plot", str(tmp_path / name), "--db", seeded.url]
        )
        assert r.exit_code == 0, r.output
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    svg = (tmp_path / "t.svg").read_text()
    assert "<svg" in svg and "threshold 0.900" in svg


def test_prune_applies_the_configured_retention(tmp_path: Path, seeded: Seeded) -> None:
    cfg = _config(
        tmp_path, seeded, store={"url": seeded.url, "retention": {"max_age_days": 0.1, "max_rows": 0}}
    )
    r = runner.invoke(app, ["alerts", "prune", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "3 by age" in r.output  # the three door alerts (3-5 h old); the others are newer or open
    with AlertStore(seeded.url) as store:
        assert store.count() == 3


def test_events_status_lists_sinks_as_json(tmp_path: Path, seeded: Seeded) -> None:
    r = runner.invoke(app, ["events", "status", "--db", seeded.url])
    assert r.exit_code == 0 and json.loads(r.output) == []
    r = runner.invoke(app, ["events", "run", "--db", seeded.url])
    assert r.exit_code == 2 and "no events sink" in _said(r.output)


def test_readme_alerts_commands_read_the_configs_postgresql_store(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``haad alerts ...`` line of the README, run as written (its alert id replaced by a real
    one) from the folder of an edge.yaml whose store is PostgreSQL: none falls back to a SQLite file."""
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    lines = [line.split("#")[0].split() for line in readme.splitlines() if line.startswith("haad alerts ")]
    assert len(lines) >= 2 and all("--config" in words for words in lines), lines
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    seeded = seed(pg_url, profiles)
    streams = [{"id": "door", "profiles": ["demo-walk"]}, {"id": "dock", "profiles": ["demo-walk"]}]
    (tmp_path / "edge.yaml").write_text(
        yaml.safe_dump({"store": {"url": pg_url}, "profiles_dir": "profiles", "streams": streams})
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HAAD_DB", raising=False)
    for words in lines:
        args = [str(seeded.ids[0]) if w.isdigit() else w for w in words[1:]]
        r = runner.invoke(app, args, input="y\n")
        assert r.exit_code == 0, (words, r.output)
        if args[:2] == ["alerts", "list"]:
            assert "dock" in r.output and "yard" in r.output  # the seeded alerts of the last 2 h
    assert not list(tmp_path.glob("*.db"))
    with AlertStore(pg_url) as store:
        assert store.get_alert(seeded.ids[0]).status == "dismissed"  # marked normal
    assert ProfileStore(profiles).latest_version("demo-walk") == 1  # --scope camera: an overlay
