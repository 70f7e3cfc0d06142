"""``haad serve`` on a port already in use: what to do, when `haad run` is what uses it."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml
from typer.testing import CliRunner

from edge.store import AlertStore
from haad.cli import app


def test_a_busy_port_from_edge_yaml_says_haad_run_serves_it_when_serve_is_set(tmp_path: Path) -> None:
    # The README's `haad run --config edge.yaml` then `haad serve --config edge.yaml`, with serve: set,
    # ended in "cannot listen ... stop what uses it": the daemon itself, already serving the pages.
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    AlertStore(url).close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "edge.yaml"
        config.write_text(yaml.safe_dump({"store": {"url": url}, "serve": {"port": port}}))
        from_file = CliRunner().invoke(app, ["serve", "--config", str(config)])
        given = CliRunner().invoke(app, ["serve", "--config", str(config), "--port", str(port)])
    assert from_file.exit_code == 2
    assert from_file.output.splitlines() == [
        f"error: the review server cannot listen on 127.0.0.1:{port} (Address already in use); stop what "
        f"uses it, or set another serve.port (--port); `haad run --config {config}` serves these pages "
        "itself while serve: is set"
    ]
    assert given.exit_code == 2 and "haad run" not in given.output  # a port of its own: not the daemon's
