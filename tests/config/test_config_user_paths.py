"""A path in edge.yaml that starts with "~" is in the home folder of the user reading it, as in a
shell: taken literally it made a folder named "~" beside the config file (state_dir) or in the
working directory, and SQLite could not open a log there."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.edge import EdgeConfig
from config.loader import parse_config
from haad.cli.common import load_edge_config


def test_every_kind_of_path_starting_with_a_tilde_is_in_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    cfg = parse_config(
        """
streams: [{id: cam, source: {kind: video, path: ~/cam.mp4}, estimator: {task_cache_dir: ~/mp}}]
profiles_dir: ~/profiles
encoder: ~/encoder.safetensors
store: {url: "sqlite:///~/alerts.db"}
bus:
  endpoint: tcp://127.0.0.1:5555
  curve: {server_secret_key: ~/k/s.key_secret, authorized_clients: ~/k/authorized,
          server_public_key: ~/k/s.key, client_secret_key: ~/k/c.key_secret}
events: {webhooks: [{name: ops, url: "https://hooks.example/x", secret: {file: ~/ops-key}}]}
worker: {backend: {type: onnxruntime, cache_dir: ~/onnx}}
""",
        EdgeConfig,
    )
    assert cfg.bus.curve is not None and cfg.events.webhooks[0].secret.file is not None
    source = cfg.streams[0].source
    paths = [
        source.path,  # type: ignore[union-attr]
        cfg.streams[0].estimator.task_cache_dir,
        cfg.profiles_dir,
        cfg.encoder,
        cfg.store.url.removeprefix("sqlite:///"),
        cfg.bus.curve.server_secret_key,
        cfg.bus.curve.authorized_clients,
        cfg.bus.curve.server_public_key,
        cfg.bus.curve.client_secret_key,
        cfg.events.webhooks[0].secret.file,
        cfg.worker.backend.cache_dir,  # type: ignore[union-attr]
    ]
    assert all(Path(str(p)).parent in (home, home / "k") for p in paths), paths


def test_a_state_dir_starting_with_a_tilde_is_not_made_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "etc" / "edge.yaml"
    path.parent.mkdir()
    path.write_text("state_dir: ~/state\n")
    assert load_edge_config(path).state_dir == str(tmp_path / "home" / "state")
