"""deploy/grafana/haad.json queries only series that edge/metrics.py defines, and shows each family
(that a running daemon exports each one: tests/edge/test_daemon.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "haad.json"
SUFFIXES = {Counter: ("_total",), Gauge: ("",), Histogram: ("_bucket", "_sum", "_count")}


def dashboard_series() -> set[str]:
    """Every series name the dashboard's queries name."""
    return set(re.findall(r"haad_[a-z_]+", json.dumps(json.loads(DASHBOARD.read_text())["panels"])))


def test_dashboard_series_are_the_exported_metrics() -> None:
    from edge import metrics

    families = {
        m._name: type(m) for m in vars(metrics).values() if isinstance(m, Counter | Gauge | Histogram)
    }
    exported = {name + s for name, kind in families.items() for s in SUFFIXES[kind]}
    dashboard = json.loads(DASHBOARD.read_text())
    queried = dashboard_series()
    assert queried and queried <= exported, queried - exported
    unshown = {f for f in families if not any(q.startswith(f) for q in queried)}
    assert unshown <= {"haad_frames_received"}, unshown  # fps is shown by its gauge
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(p["targets"] for p in dashboard["panels"])
