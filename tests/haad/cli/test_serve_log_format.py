"""``haad serve`` logs in the config's ``logging.format``, as ``haad run`` does."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from edge.store import AlertStore


def test_serve_logs_json_lines_when_the_config_says_json(tmp_path: Path) -> None:
    # It logged plain text whatever logging.format said, so a log shipper expecting JSON lines
    # (as `haad run` writes them) met lines it could not read.
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    AlertStore(url).close()
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump({"store": {"url": url}, "logging": {"format": "json"}}))
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    serve = subprocess.Popen(
        [sys.executable, "-m", "haad", "serve", "--config", str(config), "--no-auth", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stderr is not None
        first = serve.stderr.readline()
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    record = json.loads(first)
    assert record["level"] == "INFO" and record["msg"].startswith(
        f"review server on http://127.0.0.1:{port}/"
    )
