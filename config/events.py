"""Configuration of events out (edge/events): MQTT with Home Assistant discovery, and webhooks.

Every alert change is written to an outbox in the alert database, in the transaction that changes
the alert; a notifier delivers it to each sink in order and remembers how far each sink got."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from config.base import StrictModel, UserPath
from config.secrets import SecretRef, no_inline_password

EventKind = Literal["open", "update", "close"]
EVENT_KINDS: tuple[EventKind, ...] = ("open", "update", "close")
_TOPIC_LEVELS = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")  # what http.client refuses in a request line


def _topic_prefix(v: str) -> str:
    """A + or # is refused by every publish (a notifier round failing each second, forever); an
    empty level (a//b, a trailing /) makes topics nobody subscribes to."""
    if not _TOPIC_LEVELS.fullmatch(v):
        raise ValueError(
            "an MQTT topic prefix is levels of letters, digits, _ . - joined by single slashes "
            "(no + or # wildcard, no empty level)"
        )
    return v


TopicPrefix = Annotated[str, StringConstraints(max_length=64), AfterValidator(_topic_prefix)]


def _valid_address(parts: SplitResult) -> None:
    """A port out of 0-65535 or not a number: urlsplit says so only when asked, which was at start
    (a crash) or at each delivery (a webhook round failing each second). A host name with an empty
    label or one over 63 characters: the resolver's UnicodeError failed each round with a traceback."""
    try:
        parts.port  # noqa: B018 (the check is the reading)
    except ValueError as e:
        raise ValueError(f"bad port: {e}") from None
    try:
        (parts.hostname or "").encode("idna")
    except UnicodeError:
        raise ValueError(
            f"bad host name {parts.hostname!r}: a label (between dots) is empty or over 63 characters"
        ) from None


class MqttConfig(StrictModel):
    """An MQTT broker: events, retained per-stream state and Home Assistant discovery."""

    url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="mqtt://[user@]host[:port] (mqtts:// for TLS, default ports 1883 / 8883).",
    )
    password: SecretRef | None = Field(
        None, description="The broker password of the URL's user: {env: NAME} or {file: PATH}."
    )
    ca_file: UserPath | None = Field(
        None,
        description="PEM file of the CA that signed an mqtts:// broker's certificate (a private CA, a "
        "self-signed broker); none: the system's CAs.",
    )
    topic_prefix: TopicPrefix = Field("haad", description="First topic level(s).")
    client_id: str = Field("haad-notifier", min_length=1, max_length=64, description="MQTT client id.")
    qos: Literal[0, 1, 2] = Field(
        1,
        description="QoS of every publish; 1 or 2 confirm delivery to the broker, and 1 also sees a publish "
        "the broker refuses (2: counted delivered, paho does not read the refusal).",
    )
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive interval.")
    publish_timeout_s: float = Field(
        10.0, gt=0, le=300, description="How long a publish may wait for the broker's acknowledgement."
    )
    discovery: bool = Field(True, description="Announce one Home Assistant binary_sensor per stream.")
    discovery_prefix: TopicPrefix = Field(
        "homeassistant", description="Home Assistant's discovery topic prefix."
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("not an MQTT URL (mqtt://host:port or mqtts://...)")
        _valid_address(parts)
        # The scheme in lower case: what decides TLS reads it so (MQTTS:// got port 8883 without TLS).
        return no_inline_password(f"{parts.scheme}:{v.split(':', 1)[1]}", "events.mqtt.password")

    @model_validator(mode="after")
    def _ca_for_tls(self) -> MqttConfig:
        if self.ca_file is not None and not self.url.startswith("mqtts:"):
            raise ValueError("ca_file is for an mqtts:// URL (TLS)")
        return self


class WebhookConfig(StrictModel):
    """An HTTP endpoint that gets every event as a signed JSON POST."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Names the sink in logs and the API.",
    )
    url: str = Field(description="http:// or https:// URL the events are POSTed to.")
    secret: SecretRef | None = Field(
        None,
        description="The HMAC-SHA256 key, {env: NAME} or {file: PATH}: X-Haad-Signature is "
        "sha256=hex(HMAC(key, timestamp + '.' + body)); none: unsigned.",
    )
    events: list[EventKind] = Field(
        default_factory=lambda: list(EVENT_KINDS), min_length=1, description="Which event kinds to send."
    )
    timeout_s: float = Field(10.0, gt=0, le=300, description="Timeout of one POST.")
    ca_file: UserPath | None = Field(
        None,
        description="PEM file of the CA that signed an https:// receiver's certificate (a private CA, a "
        "self-signed receiver); none: the system's CAs.",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        _valid_address(parts)
        if parts.username is not None:  # urllib sends neither: every delivery failed, on a DNS error
            raise ValueError(
                "no user or password in a webhook url: they are not sent; sign with secret, or use a "
                "receiver's token in the path"
            )
        # http.client refused each delivery: a space in its error holding the raw path and token, a
        # non-ASCII letter in a UnicodeEncodeError out of the notifier's round, each second.
        if _UNSENDABLE.search(v) or not f"{parts.path}?{parts.query}#{parts.fragment}".isascii():
            raise ValueError(
                "a space, control character or non-ASCII letter in the url's path or query: "
                "percent-encode it (a space is %20, ü is %C3%BC)"
            )
        return v

    @model_validator(mode="after")
    def _ca_for_tls(self) -> WebhookConfig:
        if self.ca_file is not None and not self.url.startswith("https:"):
            raise ValueError("ca_file is for an https:// URL (TLS)")
        return self

    @field_validator("secret", mode="before")
    @classmethod
    def _by_reference(cls, v: object) -> object:
        if isinstance(v, str):
            raise ValueError(
                "no literal key: keep it out of the config, in secret: {env: NAME} or {file: PATH}"
            )
        return v


class EventsConfig(StrictModel):
    """Where alert events go, and how failed deliveries are retried."""

    mqtt: MqttConfig | None = Field(None, description="MQTT broker; none: no MQTT.")
    webhooks: list[WebhookConfig] = Field(
        default_factory=list, max_length=50, description="Webhook endpoints."
    )
    public_url: str | None = Field(
        None,
        description="The review server as users open it (https://haad.example.lan:8910, behind a proxy "
        "its address there): every event's alert carries url (and thumbnail_url where the camera keeps "
        "snapshots) under it; none: no links.",
    )
    poll_s: float = Field(1.0, gt=0, le=60, description="How often the notifier looks for new events.")
    batch: int = Field(100, ge=1, le=10_000, description="Most events a sink is handed per round.")
    initial_backoff_s: float = Field(1.0, gt=0, le=600, description="Wait before retrying a failed delivery.")
    max_backoff_s: float = Field(300.0, gt=0, le=86_400, description="Longest wait; it doubles per failure.")
    give_up_after_s: float = Field(
        86_400.0,
        ge=0,
        le=90 * 86_400,
        description="An event a sink has refused for this long is skipped (counted, logged): the time between "
        "its refusals, not an outage's (a sink unreachable, down or answering alike for every event); 0: retry "
        "forever.",
    )

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("not an http(s) base URL without query or fragment")
        if parts.username or parts.password:
            raise ValueError("public_url must carry no user or password: events are read by others")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> EventsConfig:
        if self.initial_backoff_s > self.max_backoff_s:
            raise ValueError("initial_backoff_s must not exceed max_backoff_s")
        names = [w.name for w in self.webhooks]
        if len(set(names)) != len(names):
            raise ValueError(f"webhook names must be unique; got {names}")
        return self

    @property
    def enabled(self) -> bool:
        return self.mqtt is not None or bool(self.webhooks)
