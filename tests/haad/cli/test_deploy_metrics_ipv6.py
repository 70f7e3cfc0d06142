"""metrics.host may be an IPv6 address (the unit allows AF_INET6): "::" or "::1" was refused with
"Address family for hostname not supported"."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SERVE = """
import os, sys, tempfile, urllib.request
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
from edge import metrics
metrics.serve(sys.argv[1], int(sys.argv[2]))
print(urllib.request.urlopen(f"http://[::1]:{sys.argv[2]}/health", timeout=10).status)
"""


def free_ipv6_port() -> int:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            return int(s.getsockname()[1])
    except OSError:
        pytest.skip("no IPv6 loopback on this host")


@pytest.mark.parametrize("host", ["::", "::1"])
def test_metrics_listen_on_an_ipv6_address(host: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SERVE, host, str(free_ipv6_port())],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "200", out.stdout + out.stderr
