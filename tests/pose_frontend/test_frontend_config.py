"""StreamConfig / FrontendConfig: the source union, bounds, names and YAML errors with their lines."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.frontend import (
    FrontendConfig,
    ReconnectConfig,
    StreamConfig,
    SyntheticSourceConfig,
    UrlSourceConfig,
    VideoSourceConfig,
    WebcamSourceConfig,
)
from config.loader import ConfigError, parse_config


def test_defaults_need_no_camera_and_no_files() -> None:
    config = FrontendConfig()
    assert [s.id for s in config.streams] == ["cam0"]
    assert isinstance(config.streams[0].source, SyntheticSourceConfig)
    assert config.streams[0].estimator.task_model_path is None
    assert config.streams[0].estimator.visibility_threshold is None  # keep every joint by default


def test_yaml_picks_the_source_type_by_kind() -> None:
    text = """
bus:
  endpoint: "tcp://worker:5555"
  curve: {client_secret_key: keys/door.key_secret, server_public_key: keys/server.key}
streams:
  - id: door
    source: {kind: url, url: "rtsp://admin@10.0.0.5:554/stream1", password: {env: DOOR_PASSWORD}}
    profiles: [corridor, night-shift]
  - id: desk
    source: {kind: webcam, index: 2, width: 640, height: 480}
  - id: file
    source: {kind: video, path: clips/a.mp4, loop: true, realtime: false}
"""
    config = parse_config(text, FrontendConfig)
    door, desk, file = config.streams
    assert isinstance(door.source, UrlSourceConfig) and door.profiles == ["corridor", "night-shift"]
    assert isinstance(desk.source, WebcamSourceConfig) and desk.source.index == 2
    assert isinstance(file.source, VideoSourceConfig) and file.source.loop and not file.source.realtime


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("streams:\n  - id: a\n    source:\n      kind: laser\n", 3, "source"),
        ("streams:\n  - id: a\n    source:\n      kind: video\n", 3, "path"),
        ("streams:\n  - id: a\n    source:\n      kind: url\n      url: file:///etc/passwd\n", 5, "url"),
        ("streams:\n  - id: 'bad id!'\n", 2, "id"),
        ("streams:\n  - id: a\n    profiles: ['-x']\n", 3, "profiles"),
        ("streams:\n  - id: a\n    estimator:\n      min_detection_confidence: 1.5\n", 4, "confidence"),
        (
            "streams:\n  - id: a\n    source:\n      kind: synthetic\n      script: [{motion: moonwalk}]\n",
            5,
            "moonwalk",
        ),
        ("streams:\n  - id: a\n    sauce: {}\n", 3, "sauce"),
        ("streams:\n  - id: a\n    estimator: {people: {max_people: 4}}\n", 3, "people is read where"),
    ],
)
def test_invalid_yaml_is_reported_with_its_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, FrontendConfig, source="f.yaml")
    message = str(err.value)
    assert f"f.yaml:{line}" in message and needle in message


def test_stream_ids_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="unique"):
        FrontendConfig(streams=[StreamConfig(id="a"), StreamConfig(id="a")])


def test_backoff_bounds_are_consistent() -> None:
    with pytest.raises(ValidationError):
        ReconnectConfig(initial_backoff_s=10, max_backoff_s=1)
    with pytest.raises(ValidationError):
        ReconnectConfig(initial_backoff_s=0)


def test_every_field_has_a_description() -> None:
    import config.frontend as module
    from config.base import StrictModel

    models = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, StrictModel)]
    assert len(models) >= 10
    for model in models:
        for name, field in model.model_fields.items():
            if name != "kind":  # the union's tag
                assert field.description, f"{model.__name__}.{name} has no description"
