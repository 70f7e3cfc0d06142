"""prometheus_client picks its storage when first imported; the daemon points it at the folder every
process shares only after its start checks, so nothing those checks import may import it first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from config.edge import EdgeConfig
from config.loader import load_config
from edge.checks import deployment_checks
cfg = load_config(sys.argv[1], EdgeConfig)
deployment_checks(cfg)
assert "prometheus_client" not in sys.modules, "the start checks imported prometheus_client"
"""


def test_the_daemons_start_checks_leave_prometheus_client_unimported(tmp_path: Path) -> None:
    edge_yaml = tmp_path / "edge.yaml"
    edge_yaml.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        f"profiles_dir: {tmp_path / 'profiles'}\n"
        "streams: [{id: cam}]\n"  # no problem, so the warnings are looked for too
        "events: {mqtt: {url: 'mqtts://broker.example:8883'}}\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(edge_yaml)], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
