"""A second daemon on a host whose bus endpoint another worker holds is refused at start (exit 2):
on ipc it took the socket from the running worker, on tcp its worker failed to bind until given up."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
import zmq

from config.bus import BusConfig, CurveConfig
from edge.checks import BusUnavailable, check_bus_endpoint
from tests.daemon_harness import refused_start


def test_run_refuses_an_ipc_endpoint_another_worker_listens_on(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path / 'bus.sock'}"  # refused_start's (start_daemon's)
    context = zmq.Context()
    other = context.socket(zmq.PULL)
    other.bind(endpoint)
    try:
        daemon = refused_start(tmp_path, [{"id": "cam"}], tmp_path / "profiles")
        assert f"cannot start: bus.endpoint {endpoint}: another worker listens there" in daemon.log()
        assert "started" not in daemon.log() and "Traceback" not in daemon.log()
        assert (tmp_path / "bus.sock").is_socket()
    finally:
        other.close(0)
        context.term()


def test_a_socket_file_left_by_a_killed_worker_is_no_obstacle(tmp_path: Path) -> None:
    path = tmp_path / "bus.sock"
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(str(path))  # closed without unlinking: what a SIGKILL leaves
    assert path.is_socket()
    check_bus_endpoint(BusConfig(endpoint=f"ipc://{path}"))


def test_a_tcp_port_in_use_is_named() -> None:
    curve = CurveConfig(
        server_secret_key="s", authorized_clients="a", server_public_key="p", client_secret_key="c"
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        bus = BusConfig(endpoint=f"tcp://127.0.0.1:{port}", curve=curve)
        with pytest.raises(BusUnavailable, match=f"tcp://127.0.0.1:{port}: cannot listen there"):
            check_bus_endpoint(bus)
    check_bus_endpoint(bus)
    check_bus_endpoint(bus.model_copy(update={"subscriber_binds": False}))  # the worker connects


@pytest.mark.skipif(os.geteuid() != 0, reason="makes a file of another user")
def test_a_socket_file_another_user_left_in_a_sticky_folder_is_named(tmp_path: Path) -> None:
    # A daemon once run as root leaves /tmp/haad-bus.sock; the haad user's worker failed to bind it
    # ("Address already in use") at every restart.
    shared = Path(tempfile.mkdtemp(prefix="haad-sticky-", dir="/tmp"))
    try:
        shared.chmod(0o1777)
        path = shared / "bus.sock"
        with socket.socket(socket.AF_UNIX) as gone:
            gone.bind(str(path))
        pid = os.fork()
        if pid == 0:  # the check as user nobody; its exit code says what it found
            code = 1
            try:
                os.setuid(65534)
                check_bus_endpoint(BusConfig(endpoint=f"ipc://{path}"))
                code = 0
            except BusUnavailable as e:
                code = 3 if "the socket file is another user's (uid 0)" in str(e) else 4
            finally:
                os._exit(code)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 3
        check_bus_endpoint(BusConfig(endpoint=f"ipc://{path}"))  # its owner may replace it
    finally:
        shutil.rmtree(shared)
