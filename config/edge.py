"""The edge daemon's configuration (``haad run --config edge.yaml``): every section in one file."""

from __future__ import annotations

import socket

from pydantic import Field, field_validator, model_validator

from config.base import StrictModel, UserPath
from config.bus import BusConfig
from config.events import EventsConfig
from config.frontend import (
    FrontendHostSettings,
    SkeletonSourceConfig,
    StreamConfig,
    SyntheticSourceConfig,
    UrlSourceConfig,
    VideoSourceConfig,
    distinct_streams,
)
from config.secrets import no_inline_password
from config.serve import ServeConfig
from config.store import StoreConfig
from config.supervisor import SupervisorConfig
from config.worker import WorkerConfig


class MetricsConfig(StrictModel):
    """Prometheus metrics of every haad process, aggregated on one HTTP endpoint."""

    enabled: bool = Field(True, description="Serve /metrics.")
    host: str = Field("127.0.0.1", min_length=1, description="Address to listen on (0.0.0.0: all).")
    port: int = Field(9108, ge=1, le=65535, description="TCP port of the metrics endpoint.")
    stream_out_after_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="/health names a stream out (degraded) that delivered no frame for this long: its "
        "frontend here ran without one, or the worker received none from a frontend on another host "
        "(run_frontends: false). Longer than a camera's start and reconnect.read_timeout_s.",
    )


class EdgeConfig(FrontendHostSettings):
    """One camera host: frontends for its streams, one worker, the alert log and metrics (its
    frontends packed and logging as FrontendHostSettings says, as on a frontend host)."""

    streams: list[StreamConfig] = Field(
        default_factory=lambda: [StreamConfig()], description="Monitored streams (one frontend process each)."
    )
    host: str = Field(
        "",
        max_length=128,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="This host's name on its alerts and live status, so several hosts can share one "
        "alert log (the review page and haad alerts filter by it); empty: the machine's hostname.",
    )
    run_frontends: bool = Field(
        True,
        description="Start the streams' frontends here; false when they run on other hosts (haad frontend run).",
    )
    bus: BusConfig = Field(default_factory=BusConfig, description="The skeleton bus.")
    worker: WorkerConfig = Field(
        default_factory=WorkerConfig, description="Windows, encoder backend, alerts."
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="The alert log.")
    encoder: UserPath | None = Field(
        None, description="Encoder checkpoint (.safetensors); None = the bundled one."
    )
    profiles_dir: UserPath = Field(
        "profiles", min_length=1, description="Where enrolled behaviour profiles live."
    )
    state_dir: UserPath | None = Field(
        None,
        min_length=1,
        description="Where haad keeps local state (the alert outbox); default: the config file's folder "
        "(the working directory without one).",
    )
    reload_every_s: float = Field(
        2.0, gt=0, le=3600, description="How often new or changed profiles are picked up (no restart needed)."
    )
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Prometheus endpoint.")
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig, description="Child restarts.")
    serve: ServeConfig | None = Field(
        None, description="Also run the review web UI and HTTP API (haad serve) in the daemon; none: off."
    )
    events: EventsConfig = Field(
        default_factory=EventsConfig, description="Alert events out: MQTT, Home Assistant, webhooks."
    )
    status_every_s: float = Field(
        5.0,
        ge=0.5,
        le=3600,
        description="How often the worker writes each stream's live status to the store.",
    )

    def host_name(self) -> str:
        """``host``, else the machine's hostname (cut to the column's 128 characters)."""
        return self.host or socket.gethostname()[:128]

    @field_validator("streams")
    @classmethod
    def _distinct(cls, v: list[StreamConfig]) -> list[StreamConfig]:
        return distinct_streams(v)

    @field_validator("store")
    @classmethod
    def _no_password_in_the_file(cls, v: StoreConfig) -> StoreConfig:
        no_inline_password(v.url, "store.password")  # --db and HAAD_DB may carry one: they are not files
        return v

    @model_validator(mode="after")
    def _gaps_span_a_frame(self) -> EdgeConfig:
        # A hole is time between frames beyond max_gap_s: under a stream's frame interval, every frame
        # ended its segment and nothing was ever scored (resets counted as gaps, no alert possible).
        for s in self.streams:
            fps = _most_frames_per_s(s)
            if fps is not None and self.worker.max_gap_s <= 1 / fps:
                raise ValueError(
                    f"worker.max_gap_s ({self.worker.max_gap_s:g} s) must exceed stream {s.id}'s frame "
                    f"interval (1/{fps:g} s): every frame would be a hole, and nothing would be scored"
                )
        return self

    @model_validator(mode="after")
    def _bus_keys_for_both_roles(self) -> EdgeConfig:
        self.bus.require_keys(worker=True, frontend=self.run_frontends)
        return self


def _most_frames_per_s(stream: StreamConfig) -> float | None:
    """The most frames a second ``stream`` sends, where its settings say (None: they do not): its
    source's frame rate, or for a camera, video or images its pose_fps if lower."""
    source = stream.source
    fps = None if isinstance(source, UrlSourceConfig | VideoSourceConfig) else source.fps
    if isinstance(source, SkeletonSourceConfig) and source.path.lower().endswith(".npz"):
        fps = None  # a clip-set file has its own rate
    if isinstance(source, SyntheticSourceConfig | SkeletonSourceConfig) or stream.pose_fps is None:
        return fps
    return stream.pose_fps if fps is None else min(fps, stream.pose_fps)
