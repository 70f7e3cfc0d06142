"""Configuration of the review server (``haad serve``, or ``serve:`` in edge.yaml for ``haad run``)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, model_validator

from config.base import StrictModel


class TokenConfig(StrictModel):
    """One API/login token, stored as its SHA-256 (``haad serve token --name NAME`` makes one)."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$",
        description="Who holds it; review actions and profile provenance record this name.",
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the token (the token itself is never stored)."
    )


class ServeConfig(StrictModel):
    """The review web UI and HTTP API (/api/v1): alerts, playback, review, profiles, live streams."""

    host: str = Field(
        "127.0.0.1", min_length=1, description="Address to listen on; anything but loopback needs auth."
    )
    port: int = Field(8910, ge=1, le=65535, description="TCP port of the pages and the API.")
    auth: bool = Field(
        True,
        description="Require a token on every page and API route; false is allowed on a loopback host only.",
    )
    tokens: list[TokenConfig] = Field(
        default_factory=list,
        max_length=100,
        description="Accepted tokens; empty with auth on: a one-off token is made and logged at start.",
    )
    session_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="How long a browser login lasts (sessions end on restart too)."
    )
    secure_cookies: bool = Field(
        False, description="Mark the session cookie Secure (set when the server sits behind HTTPS)."
    )
    page_size: int = Field(50, ge=5, le=500, description="Alerts per page of the alert list.")
    encoder: bool = Field(
        True,
        description="Load the encoder so 'mark as normal' can re-embed; false: the server only reads and triages.",
    )

    @model_validator(mode="after")
    def _no_open_server_without_auth(self) -> ServeConfig:
        if not self.auth and not is_loopback(self.host):
            raise ValueError(
                f"auth: false is allowed only on a loopback host (127.0.0.1, ::1, localhost); got {self.host!r}"
            )
        return self


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
