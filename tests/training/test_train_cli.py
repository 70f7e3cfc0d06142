"""What ``haad train`` tells a user whose config, data or output path is wrong (no training runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.humanmac import HumanMACTrainConfig
from config.loader import ConfigError, parse_config
from config.macdiff import MacDiffTrainConfig
from config.training import EncoderTrainConfig
from haad.cli import app
from training.train_encoder import train_encoder
from training.train_humanmac import train_humanmac
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
