"""Configuration of the review server (``haad serve``, or ``serve:`` in edge.yaml for ``haad run``)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from config.base import StrictModel, UserPath


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
    secure_cookies: Literal["auto", "always"] = Field(
        "auto",
        description="When the session cookie is marked Secure: auto, whenever the page came over HTTPS "
        "(TLS here, or X-Forwarded-Proto: https from a trusted proxy); always.",
    )
    tls_cert: UserPath | None = Field(
        None, description="Serve HTTPS with this certificate chain (PEM); with tls_key."
    )
    tls_key: UserPath | None = Field(None, description="The private key (PEM) of tls_cert.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-Proto and "
        "X-Forwarded-For are believed; from anyone else they are ignored.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Host names (Host header, port excluded) this server answers to; others get 421, so a "
        "page on another site cannot reach it through DNS rebinding. Empty: the listen address, plus "
        "localhost on a loopback one; '*': any (only behind a proxy that checks Host itself).",
    )
    max_body_bytes: int = Field(
        1 << 20,
        ge=1024,
        le=1 << 30,
        description="Largest request body accepted; a larger one gets 413 before anything reads it.",
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
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if not self.allowed_hosts and self.host in ("0.0.0.0", "::"):
            raise ValueError(
                "serve.allowed_hosts: list the host names users reach this server by (a wildcard listen "
                "address does not tell), or ['*'] behind a proxy that checks them"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: not an address or network: {proxy!r}") from None
        return self

    def host_names(self) -> frozenset[str] | None:
        """The Host names this server answers to (lower case, no port); None: any."""
        if "*" in self.allowed_hosts:
            return None
        if self.allowed_hosts:
            return frozenset(h.lower().strip("[]") for h in self.allowed_hosts)
        names = {self.host.lower().strip("[]")}
        if is_loopback(self.host):
            names |= {"localhost", "127.0.0.1", "::1"}
        return frozenset(names)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
