"""deploy/grafana/haad.json queries only series that edge/metrics.py defines and shows each family;
a running daemon exports each one, with the labels the dashboard groups and names them by, for every
configured stream (a camera that never answered too), in an exposition Prometheus can parse (checked
here on the daemon tests/edge/test_daemon.py runs end to end)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from bus.messages import DROP_REASONS
from tests.daemon_harness import Daemon, wait

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "haad.json"
SUFFIXES = {Counter: ("_total",), Gauge: ("",), Histogram: ("_bucket", "_sum", "_count")}
# Labels Prometheus adds when it scrapes (instance) or that a histogram carries itself (le).
SCRAPE_LABELS = {"instance", "job", "le"}
# Each sample of a /metrics answer: (series, sorted labels) -> value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def dashboard_series() -> set[str]:
    """Every series name the dashboard's queries name."""
    return set(re.findall(r"haad_[a-z_]+", json.dumps(json.loads(DASHBOARD.read_text())["panels"])))


def dashboard_labels() -> dict[str, set[str]]:
    """Each queried series -> the labels its query groups by or its legend names."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            expr, legend = target["expr"], target.get("legendFormat", "")
            grouped = {g.strip() for by in re.findall(r"by \(([^)]*)\)", expr) for g in by.split(",")}
            named = set(re.findall(r"\{\{(\w+)\}\}", legend))
            for series in re.findall(r"haad_[a-z_]+", expr):
                wanted[series] |= (grouped | named) - SCRAPE_LABELS
    return wanted


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
    # fps is shown by its gauge; recordings that ended, by /health (streams_ended)
    assert unshown <= {"haad_frames_received", "haad_stream_ends"}, unshown
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(p["targets"] for p in dashboard["panels"])


def scrape(daemon: Daemon) -> Samples:
    """Every sample of a /metrics answer, parsed as Prometheus parses it; checks each family is
    declared once and each histogram's buckets are cumulative up to +Inf = its count."""
    text = daemon.metrics()
    declared = re.findall(r"^# (HELP|TYPE) (\S+)", text, flags=re.M)
    assert len(declared) == len(set(declared)), sorted(d for d in declared if declared.count(d) > 1)
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        buckets: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = defaultdict(list)
        for s in family.samples:
            labels = tuple(sorted(s.labels.items()))
            samples[(s.name, labels)] = s.value
            if s.name.endswith("_bucket"):
                rest = tuple((k, v) for k, v in labels if k != "le")
                buckets[rest].append((float(s.labels["le"]), s.value))
        for rest, counts in buckets.items():
            counts.sort()
            assert counts[-1][0] == float("inf"), (family.name, counts)
            assert [c for _, c in counts] == sorted(c for _, c in counts), (family.name, counts)
            assert counts[-1][1] == samples[(family.name + "_count", rest)], family.name
    return samples


def label_values(samples: dict, series: str, label: str) -> set[str]:
    return {dict(labels).get(label, "") for name, labels in samples if name == series}


def check_every_dashboard_series_is_exported(daemon: Daemon, streams: set[str]) -> Samples:
    """A running daemon's /metrics, once it scored windows: every series the dashboard queries, with
    the labels it groups and names them by, for each of ``streams`` (a camera that never answered
    too). Returns the samples, for :func:`check_counters_went_on`. Called by the daemon's end-to-end
    test (tests/edge/test_daemon.py), which runs such a daemon."""
    wait(lambda: daemon.metric("haad_windows_scored_total") > 0, 60, "scored windows")
    before = scrape(daemon)
    missing = {
        (series, label)
        for series, labels in dashboard_labels().items()
        for label in labels
        if not label_values(before, series, label) - {""}
    }
    absent = {s for s in dashboard_series() if not any(name == s for name, _ in before)}
    assert not absent and not missing, (absent, missing)
    for series in ("haad_stream_fps", "haad_frames_received_total", "haad_frontend_frames_total"):
        assert label_values(before, series, "stream") == streams, series
    # Every reason the bus drops frames for is a series from the start (rules see 0, not no data).
    assert set(DROP_REASONS) <= label_values(before, "haad_drops_total", "reason")
    return before


def check_counters_went_on(daemon: Daemon, before: Samples) -> None:
    """After a camera's kill -9 and restart: counters go on from where they were, never back."""
    after = scrape(daemon)
    kinds = {f.name: f.type for f in text_string_to_metric_families(daemon.metrics())}
    for (name, labels), value in before.items():
        family = re.sub(r"_(total|bucket|sum|count)$", "", name)
        if kinds.get(family) in ("counter", "histogram"):
            assert after.get((name, labels), -1.0) >= value, (name, labels, value)
