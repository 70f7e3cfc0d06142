"""``haad config validate`` (and ``haad run`` before it starts) names what the schema passes but the
daemon cannot run with: validate passed, then the daemon refused to start or the worker failed."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from haad.cli import app

runner = CliRunner()


def test_a_file_where_the_state_alert_log_or_profile_folder_goes_is_a_problem(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    path = tmp_path / "edge.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "streams": [{"id": "cam"}],
                "state_dir": str(a_file),
                "store": {"url": f"sqlite:///{a_file}/alerts/haad.db"},
                "profiles_dir": str(a_file),
            }
        )
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2, result.output
    for where in ("state_dir", "store.url", "profiles_dir"):
        assert f"{path}: {where}: {a_file} is a file, not a folder" in result.output, result.output
    path.write_text(
        yaml.safe_dump({"streams": [{"id": "cam"}], "state_dir": str(tmp_path / "new" / "state")})
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output  # a folder not there yet is made at start


def test_a_deployment_without_streams_is_refused_before_its_worker_fails_on_it(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    for frontends in (True, False):
        path.write_text(yaml.safe_dump({"streams": [], "run_frontends": frontends}))
        result = runner.invoke(app, ["config", "validate", str(path)])
        assert result.exit_code == 2 and f"{path}: streams: none listed" in result.output, result.output


def test_an_ipc_bus_endpoint_in_a_folder_that_is_not_there_is_a_problem(tmp_path: Path) -> None:
    # The worker failed to bind it at every restart; the folder is not made (it may be a mistyped one).
    path = tmp_path / "edge.yaml"
    path.write_text(
        yaml.safe_dump({"streams": [{"id": "cam"}], "bus": {"endpoint": f"ipc://{tmp_path}/run/bus.sock"}})
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: bus.endpoint: no folder {tmp_path / 'run'} for its socket" in result.output


def test_an_alert_log_path_that_is_a_folder_or_another_file_is_a_problem(tmp_path: Path) -> None:
    # The worker kept every alert in its outbox, waiting for a log that could never open.
    path = tmp_path / "edge.yaml"
    for database, said in (
        (tmp_path, "is a folder, not a database file"),
        (path, "is not an SQLite database"),
    ):
        path.write_text(
            yaml.safe_dump({"streams": [{"id": "cam"}], "store": {"url": f"sqlite:///{database}"}})
        )
        result = runner.invoke(app, ["config", "validate", str(path)])
        assert result.exit_code == 2 and f"store.url: {database} {said}" in result.output, result.output


def test_two_listeners_of_the_daemon_on_one_port_are_a_problem(tmp_path: Path) -> None:
    # The review server, started after metrics took the port, failed at every restart, for good.
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump({"streams": [{"id": "cam"}], "serve": {"port": 9108}}))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and f"{path}: metrics: port 9108 is also serve's" in result.output
    listen_all = {"host": "0.0.0.0", "port": 9108, "allowed_hosts": ["haad.local"]}
    path.write_text(yaml.safe_dump({"streams": [{"id": "cam"}], "serve": listen_all}))
    assert runner.invoke(app, ["config", "validate", str(path)]).exit_code == 2
    path.write_text(
        yaml.safe_dump({"streams": [{"id": "cam"}], "serve": {"port": 9108}, "metrics": {"enabled": False}})
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output


def test_a_secret_file_every_user_may_read_is_warned_of(tmp_path: Path) -> None:
    from edge.demo import PROFILES_DIR

    key = tmp_path / "ops-key"
    key.write_text("hunter2\n")
    key.chmod(0o644)
    path = tmp_path / "edge.yaml"
    webhook = {"name": "ops", "url": "https://hooks.example/x", "secret": {"file": str(key)}}
    cfg = {"streams": [{"id": "cam", "profiles": ["demo-walk"]}], "profiles_dir": str(PROFILES_DIR)}
    path.write_text(yaml.safe_dump({**cfg, "events": {"webhooks": [webhook]}}))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"warning: events.webhooks.0.secret: every user may read {key}" in result.output
    key.chmod(0o640)
    assert "warning" not in runner.invoke(app, ["config", "validate", str(path)]).output


def test_a_user_id_without_a_name_is_named_by_its_number() -> None:
    # A container's user often has no passwd entry: the folder check raised KeyError, so validate
    # and haad run crashed instead of naming the problem. Checked in a child whose user
    # is such an id (the test runs as root here).
    import os
    import pwd
    import tempfile

    import pytest

    from config.edge import EdgeConfig
    from edge.checks import deployment_checks

    uid = 54321
    if os.geteuid() != 0:
        pytest.skip("needs root to take on another user id")
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    # pytest's folders lie in one only root may enter: this one, under /tmp, that user may read
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    cfg = EdgeConfig(streams=[{"id": "cam"}], state_dir=str(folder / "state"))
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's outcome is read through the pipe
        try:
            os.setuid(uid)  # os.access asks for the real user
            os.write(write, "\n".join(deployment_checks(cfg)[0]).encode())
        except BaseException as e:  # noqa: BLE001 - any failure is the test's to report
            os.write(write, f"raised {type(e).__name__}: {e}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        said = pipe.read()
    os.waitpid(child, 0)
    folder.rmdir()
    assert f"state_dir: user id {uid} cannot write in {folder}" in said, said
