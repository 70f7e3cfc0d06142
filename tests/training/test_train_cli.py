"""``haad train`` on a user's own clip-set files, and what it tells a user whose config, data or
output path is wrong (a few steps at most)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clips.files import load_clipset_file, save_clipset_file
from config.base import StrictModel
from config.humanmac import HumanMACTrainConfig
from config.loader import ConfigError, load_config, parse_config
from config.macdiff import MacDiffTrainConfig
from config.training import EncoderTrainConfig
from haad.cli import app
from models.encoder import load_encoder
from models.humanmac import DEFAULT_HUMANMAC_PATH
from models.preprocess import WindowSpec
from training.datasets import load_dataset
from training.train_encoder import train_encoder
from training.train_humanmac import train_humanmac, training_windows
from training.train_macdiff import train_macdiff

ENCODER_YAML = Path("training/configs/encoder.yaml")


@pytest.mark.parametrize("command", ["encoder", "humanmac", "macdiff", "ablation"])
def test_train_commands_say_what_is_wrong_with_a_config(tmp_path: Path, command: str) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text("seed: 1\nstep: 3\n")
    result = CliRunner().invoke(app, ["train", command, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "mine.yaml:2: step: Extra inputs are not permitted" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, ConfigError)


def test_an_unusable_out_is_refused_before_training(tmp_path: Path) -> None:
    # No data under data_root: a refusal about the path shows it came before the data were read.
    cfg = parse_config(f"datasets: [msr]\nsteps: 1\ndata_root: {tmp_path / 'none'}\n", EncoderTrainConfig)
    with pytest.raises(ValueError, match="must end in .safetensors"):
        train_encoder(cfg, out=tmp_path / "enc.pt", progress=False)
    (tmp_path / "taken").write_text("")
    taken = tmp_path / "taken" / "m.safetensors"
    absent = f"data_root: {tmp_path / 'none'}\n"
    with pytest.raises(NotADirectoryError, match="taken is a file"):
        train_humanmac(parse_config(absent, HumanMACTrainConfig), out=taken, progress=False)
    with pytest.raises(NotADirectoryError, match="taken is a file"):
        train_macdiff(parse_config(absent, MacDiffTrainConfig), out=taken, progress=False)
    result = CliRunner().invoke(
        app, ["train", "encoder", "--config", str(ENCODER_YAML), "--out", str(tmp_path / "enc")]
    )
    assert result.exit_code == 2 and "error: checkpoint path must end in .safetensors" in result.output


@pytest.fixture(scope="module")
def own_clips(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A user's clip-set file: 3 MSR actions by 2 people (test people: no benchmark's training split)."""
    clips = [
        c
        for c in load_dataset("msr", data_root).clips
        if c.subject in ("7", "8")
        and c.label in ("a01 high arm wave", "a02 horizontal arm wave", "a07 draw x")
    ]
    path = tmp_path_factory.mktemp("own") / "site.npz"
    save_clipset_file(path, clips)
    return path


def test_encoder_trains_on_a_users_clip_set(tmp_path: Path, own_clips: Path) -> None:
    config = tmp_path / "mine.yaml"
    out = tmp_path / "site.safetensors"
    config.write_text(
        f"datasets: [{own_clips}]\nsteps: 2\nthreads: 1\neval_seeds: 1\nencoder: {{hidden: 16, blocks: 1}}\n"
    )
    result = CliRunner().invoke(app, ["train", "encoder", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{own_clips}: no few-shot figures" in result.output  # its people were all trained on
    _, _, meta = load_encoder(out)
    # The daemon's own user (deploy/haad.service) reads what its operator trained.
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in (out, out.with_suffix(".json")))
    assert meta["categories"] == ["a01 high arm wave", "a02 horizontal arm wave", "a07 draw x"]
    assert meta["data_split"][str(own_clips)]["train_subjects"] == ["7", "8"]
    windows, split = training_windows([str(own_clips)], None, WindowSpec(), 30)
    assert len(windows) > 0 and split[str(own_clips)]["train_subjects"] == ["7", "8"]


def test_encoder_training_refuses_a_clip_set_of_one_category(tmp_path: Path, own_clips: Path) -> None:
    one = tmp_path / "one.npz"
    save_clipset_file(one, [c for c in load_clipset_file(own_clips).clips if c.label == "a07 draw x"])
    config = tmp_path / "mine.yaml"
    config.write_text(f"datasets: [{one}]\nsteps: 2\n")
    result = CliRunner().invoke(app, ["train", "encoder", "--config", str(config), "--no-eval"])
    assert result.exit_code == 2 and "needs labelled clips of at least 2 categories" in result.output


@pytest.mark.parametrize("config", [EncoderTrainConfig, HumanMACTrainConfig, MacDiffTrainConfig])
def test_a_config_without_out_never_replaces_the_bundled_weights(config: type[StrictModel]) -> None:
    out = Path(parse_config("seed: 1\n", config).out)  # type: ignore[attr-defined]
    assert out.suffix == ".safetensors" and "weights" not in out.parts
    assert load_config(ENCODER_YAML, EncoderTrainConfig).out == "models/weights/encoder.safetensors"


@pytest.mark.parametrize("command", ["calibration-prior", "export-onnx"])
def test_encoder_commands_refuse_a_missing_or_foreign_checkpoint(tmp_path: Path, command: str) -> None:
    for encoder, said in (
        (tmp_path / "absent.safetensors", "absent.safetensors"),
        (DEFAULT_HUMANMAC_PATH, "is a 'haad.humanmac' checkpoint, not 'haad.encoder'"),
    ):
        result = CliRunner().invoke(app, ["train", command, "--encoder", str(encoder)])
        assert result.exit_code == 2 and "error: " in result.output and said in result.output, result.output
        assert isinstance(result.exception, SystemExit)


def test_encoder_training_says_when_clips_give_no_window(tmp_path: Path, own_clips: Path) -> None:
    clips = load_clipset_file(own_clips).clips
    blank = [
        replace(c, joints=np.full_like(c.joints, np.nan)) if c.label == "a07 draw x" else c for c in clips
    ]
    broken = tmp_path / "broken.npz"
    save_clipset_file(broken, blank)
    config = tmp_path / "mine.yaml"
    config.write_text(f"datasets: [{broken}]\nsteps: 2\n")
    result = CliRunner().invoke(app, ["train", "encoder", "--config", str(config), "--no-eval"])
    assert result.exit_code == 2, result.output
    assert "fewer than 2 training clips that give a window: ['a07 draw x']" in result.output
