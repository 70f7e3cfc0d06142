"""Configuration of the skeleton bus (bus/): where it lives, how much it may queue, who may use it,
and which frames a stream will not accept."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import StreamId, StrictModel, UserPath

# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
_IPC_PATH_MAX_BYTES = 107
_TCP = re.compile(r"tcp://(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})")


class CurveConfig(StrictModel):
    """ZeroMQ CURVE keys (`haad keys` makes them): the worker is the server, frontends are clients.

    The worker needs ``server_secret_key`` and ``authorized_clients`` (and ``senders`` with more than
    one client key); a frontend needs ``client_secret_key`` and ``server_public_key``. A host that
    runs both needs all four.
    """

    server_secret_key: UserPath | None = Field(
        None, description="The worker's key pair (a .key_secret file from `haad keys server`)."
    )
    authorized_clients: UserPath | None = Field(
        None, description="Folder of the public keys (.key files) of the frontends allowed to send."
    )
    server_public_key: UserPath | None = Field(
        None, description="The worker's public key (the .key file from `haad keys server`)."
    )
    client_secret_key: UserPath | None = Field(
        None, description="This frontend host's key pair (a .key_secret file from `haad keys client`)."
    )
    senders: dict[str, list[StreamId]] | None = Field(
        None,
        description="The streams each frontend key may send, by key name (its NAME.key in "
        "authorized_clients); frames of a stream from any other key are refused (wrong_sender). "
        "Needed once authorized_clients holds more than one key; with one key, it sends every stream.",
    )

    @field_validator("senders")
    @classmethod
    def _one_key_per_stream(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v is None:
            return v
        owner: dict[str, str] = {}
        for key, streams in v.items():
            for stream in streams:
                if stream in owner and owner[stream] != key:
                    raise ValueError(f"stream {stream!r} is bound to two keys: {owner[stream]!r} and {key!r}")
                owner[stream] = key
        return v


class StreamGuardConfig(StrictModel):
    """Frames a healthy stream refuses (counted, never allowed to reset its window)."""

    max_clock_skew_s: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="A frame sent more than this far from the worker's clock is refused.",
    )
    max_time_jump_s: float = Field(
        60.0, gt=0, le=86_400, description="A timestamp this far ahead of the stream's last one is refused."
    )
    max_seq_gap: int = Field(
        100_000,
        ge=1,
        le=2**32,
        description="A seq jump larger than this counts as one jump, not as lost frames.",
    )
    reanchor_after_s: float = Field(
        1.0,
        gt=0,
        le=3600,
        description="A stream silent this long (a restarted frontend), or one whose refused frames "
        "have agreed with each other this long, starts again from its next frame.",
    )


class BusConfig(StrictModel):
    """One bus per deployment: the worker's receiving end and every frontend's sending end share it."""

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
        description="Frames a frontend queues for the worker (also while it restarts) before a live "
        "source drops new ones (counted) and a file source waits.",
    )
    subscriber_hwm: int = Field(
        10000,
        ge=1,
        le=10_000_000,
        description="Frames the worker queues (all streams together) before frontends' queues fill.",
    )
    subscriber_binds: bool = Field(
        True,
        description=(
            "The worker binds and frontends connect (many -> one); false reverses it "
            "(then only one frontend can bind the endpoint)."
        ),
    )
    ipc_access: Literal["owner", "group"] = Field(
        "owner",
        description="Who may connect to an ipc:// socket: the worker's user only (file mode 0600), or "
        "also its group (0660, for frontends run by another user of that group).",
    )
    curve: CurveConfig | None = Field(
        None, description="CURVE authentication and encryption; required on a tcp:// bus."
    )
    guard: StreamGuardConfig = Field(
        default_factory=StreamGuardConfig, description="Sanity checks of every stream's frames."
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

    @model_validator(mode="after")
    def _tcp_needs_curve(self) -> BusConfig:
        if self.endpoint.startswith("tcp://") and self.curve is None:
            raise ValueError(
                "a tcp:// bus is reachable from the network: it needs CURVE keys (bus.curve); "
                "make them with `haad keys server DIR` and `haad keys client NAME DIR`"
            )
        return self

    def require_keys(self, *, worker: bool, frontend: bool) -> None:
        """Raise ValueError naming the missing key settings of a tcp:// bus for these roles."""
        if self.curve is None:
            return
        needed = []
        if worker:
            needed += ["server_secret_key", "authorized_clients"]
        if frontend:
            needed += ["server_public_key", "client_secret_key"]
        missing = [k for k in needed if getattr(self.curve, k) is None]
        if missing:
            # a frontend host's file (only its two keys) read as a worker's edge.yaml
            frontend_file = (
                worker and "server_secret_key" in missing and self.curve.client_secret_key is not None
            )
            hint = (
                " (a frontend host's file? `haad config validate --frontend FILE` or `haad frontend run FILE` checks it)"
                if frontend_file
                else ""
            )
            raise ValueError(f"bus.curve needs {', '.join(missing)} here{hint}")
