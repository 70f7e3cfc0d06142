"""Prometheus metrics of every haad process, served by the daemon from one HTTP endpoint.

haad runs one process per stream plus a worker, so metrics use prometheus_client's multiprocess
mode: the daemon points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder (``edge.daemon``) before it
imports this module or starts any child, each process writes its samples there, and the daemon's
HTTP server aggregates them. prometheus_client picks its storage when first imported, so the
variable must be set before that.

Exposed (all prefixed ``haad_``):

* ``frames_received_total{stream}``: valid skeleton frames the worker received (rate = fps);
  ``stream_fps{stream}``: the same as a gauge over the last few seconds; ``stream_ends_total{stream}``:
  the times a stream's frontend said its recording (a file) ran out after its last frame;
* ``frontend_frames_total{stream,result}``: frames a frontend handled (``published``, ``no_person``,
  ``error``, ``dropped``: a live frame the bus had no room for); ``frontend_reconnects_total{stream}``
  (a live source reopened after a loss), ``frontend_failed_opens_total{stream}`` (attempts that
  failed: a camera that never answers counts here only);
* ``windows_scored_total``, ``batches_total``; ``scoring_seconds`` (one encoder call + scores +
  episodes per batch); ``window_latency_seconds`` (a window's last frame published -> its scores
  and alert decision committed);
* ``drops_total{reason}``: bus drops (``bus.messages.DROP_REASONS``: malformed, oversized,
  wrong_version, bad_values, wrong_topic, unknown_stream, wrong_sender, bad_sent_at, seq_gap,
  seq_jump, out_of_order, time_backwards, time_jump; connections a CURVE bus refused: refused_key, a
  frontend key not in authorized_clients, and failed_handshake, e.g. a wrong server key; each a series
  from the start), window resets (gap, person_left, low_visibility, stale, ...) as
  ``reset_<reason>``, windows dropped by an overloaded batcher (``batcher_overflow``), NaN scores
  (``nan_scores``), windows of a segment that already ended (``late_windows``), stretches too short to
  window (``too_short_segment``), people beyond a stream's window cap (``too_many_people``), camera
  frames the snapshot ring could not keep, published all the same (``snapshot_failed``);
* ``alerts_total{stream,profile}``, ``open_episodes``; ``profiles_loaded``; ``child_restarts_total{child}``
  (a camera restarted inside a process of several, ``cameras_per_frontend``, as ``frontend-<stream>``);
* ``alerts_unsaved`` (alert states only in memory: the outbox cannot take them), ``outbox_waiting``
  (states in the outbox not yet in the alert log), ``outbox_failing`` and ``alert_log_down`` (1
  while that lasts);
* ``profile_errors_total{profile}`` (new versions refused), ``profile_missing{profile}`` (1 while a
  profile in use has vanished from disk; its last version keeps serving);
* ``event_delivery_failures_total{sink}`` (an MQTT or webhook delivery that failed and is retried),
  ``events_pending{sink}`` (alert events not yet delivered to that sink: the events outbox backlog).

Labelled series are created at 0 when their label is known (configured streams and children, loaded
profiles, configured sinks), so a dashboard shows 0 instead of "no data" before the first event.

The same endpoint answers ``/health``: JSON that says whether every alert is safe and every child
runs (``ok``: the outbox takes alerts and the alert log answers), something waits or a camera is
out (``degraded``, still HTTP 200: the alert log is down, alerts wait in the outbox, files beside the
outbox hold alert states it lacks (``outbox_set_aside``: their paths), a child other than the worker
is down or given up, a stream delivers no frame: ``streams_out``, per stream why: its frontend here
none ``metrics.stream_out_after_s`` (30 s) after it started or, a live camera, none for that long,
with its failed opens and reconnects; a stream sent from another host (``run_frontends: false``) no
frame received by the worker for that long, or since it started, with since when, unless its
frontend said its recording ran out since: ``streams_ended`` names those, and the streams whose
frontend here finished its file, per stream when; an ended stream is no cause of ``degraded``)
or alerts are at risk (``failing``, HTTP 503: the outbox cannot be written and alerts are held only
in memory, or the worker is down or given up). A probe that restarts on failure (Docker HEALTHCHECK,
Kubernetes) should act on the status code only.

Label sets are bounded: stream labels come from the configured streams only (the bus refuses
others), drop reasons from a fixed list, profile labels from the profile folder.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app, multiprocess
from prometheus_client.exposition import ThreadingWSGIServer

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 2.0, 5.0)

FRAMES_RECEIVED = Counter("haad_frames_received_total", "Valid skeleton frames received", ["stream"])
STREAM_ENDS = Counter(
    "haad_stream_ends_total", "Recordings whose frontend said they ran out after their last frame", ["stream"]
)
STREAM_FPS = Gauge("haad_stream_fps", "Frames per second per stream", ["stream"], multiprocess_mode="livesum")
FRONTEND_FRAMES = Counter("haad_frontend_frames_total", "Frames captured by a frontend", ["stream", "result"])
FRONTEND_RECONNECTS = Counter(
    "haad_frontend_reconnects_total", "Live sources reopened after a loss", ["stream"]
)
FRONTEND_FAILED_OPENS = Counter(
    "haad_frontend_failed_opens_total", "Attempts to open a live source that failed", ["stream"]
)
FRONTEND_PEOPLE_REFUSED = Counter(
    "haad_frontend_people_refused_total",
    "Published frames that left someone out (more people than estimator.people.max_people)",
    ["stream"],
)
WINDOWS_SCORED = Counter("haad_windows_scored_total", "Windows scored")
BATCHES = Counter("haad_batches_total", "Encoder calls")
SCORING_SECONDS = Histogram("haad_scoring_seconds", "Time per scored batch", buckets=LATENCY_BUCKETS)
WINDOW_LATENCY = Histogram(
    "haad_window_latency_seconds", "Last frame published -> alert decision committed", buckets=LATENCY_BUCKETS
)
DROPS = Counter("haad_drops_total", "Dropped frames, windows and scores by reason", ["reason"])
ALERTS = Counter("haad_alerts_total", "Alert episodes opened", ["stream", "profile"])
OPEN_EPISODES = Gauge("haad_open_episodes", "Alert episodes now open", multiprocess_mode="livesum")
PROFILES_LOADED = Gauge("haad_profiles_loaded", "Behaviour profiles in use", multiprocess_mode="livesum")
PROFILE_ERRORS = Counter(
    "haad_profile_errors_total", "Profile versions refused (unreadable, invalid)", ["profile"]
)
PROFILE_MISSING = Gauge(
    "haad_profile_missing",
    "1 while a profile in use has vanished from disk",
    ["profile"],
    multiprocess_mode="livemax",
)
ALERTS_UNSAVED = Gauge(
    "haad_alerts_unsaved",
    "Alert states only in memory: the outbox cannot take them (full disk, I/O error)",
    multiprocess_mode="livesum",
)
OUTBOX_WAITING = Gauge(
    "haad_outbox_waiting", "Alert states in the outbox not yet in the alert log", multiprocess_mode="livesum"
)
OUTBOX_FAILING = Gauge(
    "haad_outbox_failing", "1 while the alert outbox cannot be written", multiprocess_mode="livemax"
)
ALERT_LOG_DOWN = Gauge(
    "haad_alert_log_down", "1 while the alert log is unreachable, locked or hung", multiprocess_mode="livemax"
)
CHILD_RESTARTS = Counter("haad_child_restarts_total", "Child processes restarted", ["child"])
DELIVERY_FAILURES = Counter(
    "haad_event_delivery_failures_total", "Event deliveries that failed (retried later)", ["sink"]
)
EVENTS_PENDING = Gauge(
    "haad_events_pending", "Alert events not yet delivered to the sink", ["sink"], multiprocess_mode="livemax"
)
# A frontend's shared counter -> its haad_frontend_frames_total result label.
FRONTEND_RESULTS = {
    "published": "published",
    "no_person": "no_person",
    "errors": "error",
    "dropped": "dropped",
}


def host_port(host: str, port: int) -> str:
    """``host:port`` as a URL writes it: an IPv6 address in brackets (``[::]:9108``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class MetricsUnavailable(OSError):
    """The metrics endpoint cannot listen where metrics.host and metrics.port say (e.g. the port is in use)."""


def serve(
    host: str,
    port: int,
    given_up: Callable[[], list[str]] = list,
    down: Callable[[], list[str]] = list,
    set_aside: Callable[[], list[str]] = list,
    streams_out: Callable[[], dict[str, str]] = dict,
    streams_ended: Callable[[], dict[str, str]] = dict,
) -> None:
    """Serve the aggregate of every process's metrics on ``http://host:port/metrics`` and the health
    on ``/health`` (a thread); ``given_up`` names the children the daemon gave up, ``down`` those
    that exited and wait to be restarted, ``set_aside`` the files beside the alert outbox that hold
    states it lacks (edge.alert_outbox.awaiting_recovery), ``streams_out`` why each stream that runs
    but delivers nothing is out, ``streams_ended`` each stream whose recording ended. Raises :class:`MetricsUnavailable` when it cannot listen there."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/health":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        body = health(registry, given_up(), down(), set_aside(), streams_out(), streams_ended())
        code = "503 Service Unavailable" if body["status"] == "failing" else "200 OK"
        start_response(code, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    try:
        # The address's own family: ThreadingWSGIServer alone is IPv4, so "::" was refused.
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class: type[ThreadingWSGIServer] = type(
            "_Server", (ThreadingWSGIServer,), {"address_family": family}
        )
        server = make_server(host, port, app, server_class, handler_class=_Quiet)
    except OSError as e:
        raise MetricsUnavailable(
            f"metrics cannot listen on {host_port(host, port)} ({e.strerror}); set another metrics.port "
            "(or metrics.host), or metrics.enabled: false"
        ) from None
    threading.Thread(target=server.serve_forever, name="haad-metrics", daemon=True).start()


def frames_received() -> tuple[dict[str, float], dict[str, float]]:
    """Per stream, the frames every worker process received (``FRAMES_RECEIVED``) and the times its
    recording was said to have ended (``STREAM_ENDS``), summed over the metrics folder (a restarted
    worker's add to its predecessors'); empty without that folder."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return {}, {}
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    samples = [s for family in registry.collect() for s in family.samples]
    return (
        {s.labels["stream"]: s.value for s in samples if s.name == "haad_frames_received_total"},
        {s.labels["stream"]: s.value for s in samples if s.name == "haad_stream_ends_total"},
    )


def health(
    registry: CollectorRegistry,
    given_up: list[str],
    down: Sequence[str] = (),
    set_aside: Sequence[str] = (),
    streams_out: Mapping[str, str] | None = None,
    streams_ended: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``status`` (ok, degraded, failing) and the figures behind it. A child down is reported as such:
    a dead worker's own gauges (the alert log down, alerts unsaved) are gone with it. A file set aside
    beside the outbox is named until someone recovers and removes it: its alerts reach the log no
    other way."""
    values = {s.name: s.value for family in registry.collect() for s in family.samples}
    out: dict[str, Any] = {
        "alerts_unsaved": int(values.get("haad_alerts_unsaved", 0)),
        "outbox_waiting": int(values.get("haad_outbox_waiting", 0)),
        "outbox_failing": bool(values.get("haad_outbox_failing", 0)),
        "alert_log_down": bool(values.get("haad_alert_log_down", 0)),
        "given_up": given_up,
        "down": list(down),
        "outbox_set_aside": list(set_aside),
        "streams_out": dict(streams_out or {}),
        "streams_ended": dict(streams_ended or {}),  # finished, as they should: no part of the status
    }
    if out["outbox_failing"] or out["alerts_unsaved"] or "worker" in given_up or "worker" in down:
        out["status"] = "failing"
    elif (out["alert_log_down"] or out["outbox_waiting"] or out["outbox_set_aside"] or given_up or down
          or out["streams_out"]):  # fmt: skip
        out["status"] = "degraded"
    else:
        out["status"] = "ok"
    return out


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def process_exited(pid: int) -> None:
    """Drop a dead child's live gauges (its counters stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
