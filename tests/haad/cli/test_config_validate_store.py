"""``haad config validate`` and ``haad run``'s start checks ask a PostgreSQL alert log's server: one
that answers and refuses the URL (no such schema, database or user) is a problem named before the
daemon starts, where it used to start and pile its alerts up in the outbox behind a driver's error;
one that does not answer is only a warning, as the daemon runs through an outage."""

from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path

import yaml
from typer.testing import CliRunner

from haad.cli import app
from tests.daemon_harness import demo_profiles, refused_start

runner = CliRunner()


def _validate(tmp_path: Path, url: str) -> tuple[int, str]:
    path = tmp_path / "edge.yaml"
    path.write_text(
        yaml.safe_dump(
            {"streams": [{"id": "cam"}], "store": {"url": url}, "profiles_dir": str(tmp_path / "profiles")}
        )
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    return result.exit_code, result.output


def test_a_schema_database_or_user_the_server_does_not_have_is_a_problem(
    tmp_path: Path, pg_url: str, pg_user: str
) -> None:
    missing = f"haad_missing_{uuid.uuid4().hex[:12]}"  # never created
    code, output = _validate(tmp_path, pg_url.rsplit("%3D", 1)[0] + f"%3D{missing}")
    assert code == 2, output
    assert (
        f"store.url postgresql+psycopg://***@127.0.0.1:5432/test?options=***: no schema of its search_path ({missing})"
        in output
    )
    assert "create it (CREATE SCHEMA name) or fix store.url" in output
    code, output = _validate(tmp_path, pg_url.replace("/test?", f"/{missing}?"))
    assert code == 2, output
    assert f'the server refuses it: database "{missing}" does not exist; create that database' in output
    code, output = _validate(tmp_path, pg_url.replace(f"//{pg_user}@", f"//{missing}@"))
    assert code == 2, output
    assert f'the server refuses it: role "{missing}" does not exist; fix the user in store.url' in output
    code, output = _validate(tmp_path, pg_url)  # the fixture's schema exists
    assert code == 0 and "store.url" not in output, output


def test_a_server_that_does_not_answer_is_only_a_warning(tmp_path: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        code, output = _validate(tmp_path, f"postgresql://haad@127.0.0.1:{port}/test")
    assert code == 0, output
    assert (
        f"warning: store.url postgresql+psycopg://***@127.0.0.1:{port}/test: no answer from the server now"
        in output
    )
    assert "its alerts wait in the outbox until the server answers" in output


def test_run_refuses_a_schema_that_does_not_exist_before_starting_anything(
    tmp_path: Path, pg_url: str
) -> None:
    store = {"url": pg_url.rsplit("%3D", 1)[0] + f"%3Dhaad_missing_{uuid.uuid4().hex[:12]}"}
    daemon = refused_start(tmp_path, [{"id": "cam"}], demo_profiles(tmp_path / "profiles"), store=store)
    assert "cannot start: store.url postgresql+psycopg://***@127.0.0.1:5432/test" in daemon.log()
    assert "started" not in daemon.log() and "Traceback" not in daemon.log()


def test_validate_asks_a_silent_server_once(tmp_path: Path) -> None:
    # The problems and the warnings each asked the server: two connections, each waiting the whole
    # probe timeout on a server that accepts and says nothing, so validate (and a start) took twice it.
    accepted: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.settimeout(0.1)
        done = threading.Event()

        def accept() -> None:
            while not done.is_set():
                try:
                    accepted.append(silent.accept()[0])
                except TimeoutError:
                    pass

        thread = threading.Thread(target=accept)
        thread.start()
        try:
            code, output = _validate(tmp_path, f"postgresql://haad@127.0.0.1:{silent.getsockname()[1]}/test")
        finally:
            done.set()
            thread.join()
            for conn in accepted:
                conn.close()
    assert code == 0 and "no answer from the server now" in output, output
    assert len(accepted) == 1, f"{len(accepted)} connections"
