"""Configuration of the skeleton bus (edge/bus): where it lives and how much it may queue."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from config.base import StrictModel

# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
_IPC_PATH_MAX_BYTES = 107
_TCP = re.compile(r"tcp://(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})")


class BusConfig(StrictModel):
    """One bus per deployment: the worker's subscriber and every frontend's publisher share it."""

    endpoint: str = Field(
        "ipc:///tmp/haad-bus.sock",
        description=(
            "ZeroMQ endpoint: ipc://<path> on one host, or tcp://<host>:<port> across hosts "
            "(the binding side may use tcp://*:<port>; connecting sides name the host)."
        ),
    )
    publisher_hwm: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Frames a publisher queues for a slow subscriber before dropping new ones.",
    )
    subscriber_hwm: int = Field(
        10000,
        ge=1,
        le=10_000_000,
        description="Frames the subscriber queues (all streams together) before the sender drops.",
    )
    subscriber_binds: bool = Field(
        True,
        description=(
            "The worker's subscriber binds and publishers connect (many -> one); false reverses it "
            "(then only one publisher can bind the endpoint)."
        ),
    )

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, v: str) -> str:
        if v.startswith("ipc://"):
            path = v.removeprefix("ipc://")
            if not path:
                raise ValueError("ipc:// endpoint needs a socket path, e.g. ipc:///tmp/haad-bus.sock")
            if len(path.encode()) > _IPC_PATH_MAX_BYTES:
                raise ValueError(f"ipc socket path is longer than {_IPC_PATH_MAX_BYTES} bytes")
            return v
        m = _TCP.fullmatch(v)
        if m is None:
            raise ValueError("endpoint must be ipc://<path> or tcp://<host>:<port>")
        if not 1 <= int(m["port"]) <= 65535:
            raise ValueError(f"tcp port must be in 1..65535; got {m['port']}")
        return v
