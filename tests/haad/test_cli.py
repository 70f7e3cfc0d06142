"""``haad config ...`` and ``haad enroll`` through the real CLI (Typer's CliRunner)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from typer.testing import CliRunner

from clips.files import save_clipset_file
from config.edge import EdgeConfig
from config.loader import parse_config
from edge.profiles import ProfileStore
from haad.cli import app
from models.checkpoint import load_metadata
from models.encoder import DEFAULT_ENCODER_PATH, KIND, EncoderConfig
from training.datasets import load_dataset

runner = CliRunner()


def test_shipped_example_config_is_valid_and_validate_names_what_this_host_lacks() -> None:
    from config.loader import load_config

    cfg = load_config("deploy/edge.example.yaml", EdgeConfig)
    result = runner.invoke(app, ["config", "validate", "deploy/edge.example.yaml"])
    assert result.exit_code == 2  # its profiles are not enrolled on a development machine
    for stream in cfg.streams:
        for name in stream.profiles:
            assert f"profile {name!r} not found in {Path(cfg.profiles_dir).resolve()}" in result.output


def test_validate_passes_once_the_named_profiles_exist(tmp_path: Path) -> None:
    from edge.demo import PROFILES_DIR

    path = tmp_path / "edge.yaml"
    path.write_text(f"streams: [{{id: cam, profiles: [demo-walk]}}]\nprofiles_dir: {PROFILES_DIR}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output
    path.write_text(f"streams: [{{id: cam, profiles: [demo-wlak]}}]\nprofiles_dir: {PROFILES_DIR}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert (
        result.exit_code == 2
        and "profile 'demo-wlak' not found" in result.output
        and "demo-walk" in result.output
    )


def test_bad_config_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("streams:\n  - id: cam0\n    source: {kind: webcam, index: -1}\nworker:\n  stride: 0\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    assert "edge.yaml:3" in result.output and "edge.yaml:5" in result.output


def test_defaults_round_trip_into_a_valid_config() -> None:
    result = runner.invoke(app, ["config", "defaults"])
    assert result.exit_code == 0
    assert parse_config(result.output, EdgeConfig) == EdgeConfig()


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "profiles_dir": str(tmp_path / "profiles"),
                "worker": {"backend": {"type": "onnxruntime", "cache_dir": str(tmp_path / "onnx")}},
            }
        )
    )
    return path


def test_enroll_from_a_clip_set_file_writes_a_calibrated_profile(tmp_path: Path, data_root: Path) -> None:
    clips = [c for c in load_dataset("kinder-gator", data_root).clips if c.label == "Walk-in-place"][:3]
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, clips)
    args = [
        "enroll",
        "--profile",
        "walking",
        "--config",
        str(_config(tmp_path)),
        "--no-augment",
        str(clipset),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "profile walking v1: 3 clip(s)" in result.output
    profile = ProfileStore(tmp_path / "profiles").load("walking")
    bundled = EncoderConfig.from_dict(load_metadata(DEFAULT_ENCODER_PATH, KIND)["encoder"])
    assert profile.embeddings.shape[1] == bundled.embedding_dim and np.isfinite(profile.threshold)
    assert profile.meta["calibration"]["n_clips"] == 3
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "v2" in again.output


def test_enroll_refuses_unusable_clips_clearly(tmp_path: Path) -> None:
    cfg = str(_config(tmp_path))
    missing = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, "--no-augment", "nope.mp4"])
    assert missing.exit_code == 1 and "not found" in missing.output
    nan_clip = tmp_path / "nan.npy"
    np.save(nan_clip, np.full((50, 20, 3), np.nan, np.float32))
    empty = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, "--no-augment", str(nan_clip)])
    assert empty.exit_code == 1 and "no usable clip" in empty.output
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    wrong = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, "--no-augment", str(txt)])
    assert wrong.exit_code == 1 and "not a video" in wrong.output
    assert not (tmp_path / "profiles").exists()


def test_version_is_printed() -> None:
    from haad import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"haad {__version__}"


def test_every_help_text_is_written_for_users() -> None:
    """No reStructuredText markup or notes to developers in what `--help` shows."""
    import typer.main

    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    root = typer.main.get_command(app)
    seen = 0
    for path, command in walk(root, ["haad"]):
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        for text in texts:
            assert "``" not in text and ":func:" not in text and ":class:" not in text, (path, text)
            assert "sub-app" not in text, (path, text)
        result = runner.invoke(app, [*path[1:], "--help"])
        assert result.exit_code == 0, (path, result.output)
        seen += 1
    assert seen > 20  # every group and command was visited
