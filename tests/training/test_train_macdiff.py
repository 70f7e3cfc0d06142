"""MacDiff pretraining on the real Kinder-Gator data (tiny model, tiny run)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from config.loader import ConfigError, load_config, parse_config
from config.macdiff import MacDiffTrainConfig
from haad.cli import app
from models.macdiff import load_macdiff
from training.protocol import KINDER_GATOR
from training.train_macdiff import train_macdiff

CONFIGS = sorted(Path("training/configs").glob("macdiff*.yaml"))
TINY = Path("training/configs/macdiff-tiny.yaml")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_committed_configs_validate(path: Path) -> None:
    load_config(path, MacDiffTrainConfig)


def test_bad_config_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError, match="x.yaml:2: network"):
        parse_config("seed: 1\nnetwork: {width: 30, heads: 4}\n", MacDiffTrainConfig, source="x.yaml")
    with pytest.raises(ConfigError, match="patch"):
        parse_config("network: {patch: 7}\n", MacDiffTrainConfig)
    with pytest.raises(ConfigError, match="datasets"):
        parse_config("datasets: [utkinect]\n", MacDiffTrainConfig)  # no training subjects to learn from


@pytest.mark.slow  # trains MacDiff for real, twice
def test_tiny_training_via_the_cli_rebuilds_alone_and_repeats_under_its_seed(
    tmp_path: Path, data_root: Path
) -> None:
    text = TINY.read_text() + f"data_root: {data_root}\n"
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(text)
    out = tmp_path / "md.safetensors"
    result = CliRunner().invoke(app, ["train", "macdiff", "--config", str(cfg_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    model = load_macdiff(out)
    meta = json.loads(out.with_suffix(".json").read_text())
    split = meta["data_split"]["kinder-gator"]
    assert split["train_subjects"] == sorted(KINDER_GATOR.train_subjects)  # never a test participant
    assert split["windows"] > 1000 and meta["training_windows"] == split["windows"]
    assert 0.0 < meta["metrics"]["final_loss"] < 1.5 and meta["git_revision"]
    assert meta["macdiff"]["width"] == 16 and meta["window"]["frames"] == 60
    w = np.zeros((1, 60, 20, 3), np.float32)
    assert model.augment(w, samples=2, t_s=300).shape == (1, 2, 60, 20, 3)

    again = load_macdiff(train_macdiff(parse_config(text, MacDiffTrainConfig), out=tmp_path / "b.safetensors",
                                       progress=False).path)  # fmt: skip
    wa, wb = model.modules().state_dict(), again.modules().state_dict()
    # Equal up to float rounding (CI's BLAS may differ in the last bit between two runs).
    assert all(torch.allclose(wa[k], wb[k], rtol=1e-4, atol=1e-6) for k in wa)
