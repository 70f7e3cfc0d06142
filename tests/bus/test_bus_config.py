"""BusConfig: endpoint validation, bounds, and loading from YAML."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.bus import BusConfig, CurveConfig
from config.loader import ConfigError, parse_config


def test_defaults_are_valid() -> None:
    config = BusConfig()
    assert config.endpoint == "ipc:///tmp/haad-bus.sock"
    assert config.subscriber_binds
    assert 1 <= config.publisher_hwm <= config.subscriber_hwm


@pytest.mark.parametrize(
    "endpoint",
    [
        "ipc:///run/haad/bus.sock",
        "ipc://@haad-bus",
        "tcp://*:5555",
        "tcp://127.0.0.1:5555",
        "tcp://worker-1.local:65535",
        "tcp://[::1]:5555",
    ],
)
def test_accepts_ipc_and_tcp_endpoints(endpoint: str) -> None:
    curve = CurveConfig() if endpoint.startswith("tcp") else None  # which keys a role needs: checked per role
    assert BusConfig(endpoint=endpoint, curve=curve).endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:5555",
        "inproc://bus",
        "ipc://",
        "ipc:///" + "x" * 120,
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:70000",
        "tcp://:5555",
        "tcp://host:5555/path",
    ],
)
def test_refuses_other_endpoints(endpoint: str) -> None:
    with pytest.raises(ValidationError):
        BusConfig(endpoint=endpoint)


@pytest.mark.parametrize("field", ["publisher_hwm", "subscriber_hwm"])
def test_hwm_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError):
        BusConfig(**{field: 0})


def test_yaml_error_names_the_line() -> None:
    text = "publisher_hwm: 100\nendpoint: udp://x:1\n"
    with pytest.raises(ConfigError, match=r"bus.yaml:2: endpoint"):
        parse_config(text, BusConfig, source="bus.yaml")
    with pytest.raises(ConfigError, match="endpont"):
        parse_config("endpont: ipc:///tmp/x\n", BusConfig)


def test_yaml_round_trip() -> None:
    text = (
        "endpoint: tcp://*:5555\nsubscriber_binds: false\ncurve: {server_secret_key: k/server.key_secret}\n"
    )
    config = parse_config(text, BusConfig)
    assert (config.endpoint, config.subscriber_binds) == ("tcp://*:5555", False)
    assert config.curve is not None and config.curve.server_secret_key == "k/server.key_secret"


def test_each_role_on_a_tcp_bus_needs_its_keys() -> None:
    from config.edge import EdgeConfig
    from config.frontend import FrontendConfig

    worker_only = {"server_secret_key": "s", "authorized_clients": "c"}
    with pytest.raises(ValidationError, match="server_public_key, client_secret_key"):
        EdgeConfig(bus={"endpoint": "tcp://*:5555", "curve": worker_only})  # its frontends run here too
    EdgeConfig(bus={"endpoint": "tcp://*:5555", "curve": worker_only}, run_frontends=False)
    with pytest.raises(ValidationError, match="server_public_key, client_secret_key"):
        FrontendConfig(bus={"endpoint": "tcp://w:5555", "curve": worker_only})
    with pytest.raises(ValidationError, match="CURVE"):
        EdgeConfig(bus={"endpoint": "tcp://*:5555"}, run_frontends=False)
    frontend_only = {"server_public_key": "p", "client_secret_key": "c"}
    with pytest.raises(ValidationError, match=r"`haad frontend run FILE` checks it"):
        EdgeConfig(bus={"endpoint": "tcp://w:5555", "curve": frontend_only})  # a frontend host's file
