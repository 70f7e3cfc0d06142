from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.ablation import AblationConfig
from config.completions import CompletionSettings
from config.loader import load_config, parse_config
from config.training import EncoderTrainConfig
from evaluation.ablation import cell_config, run_ablation, trained_with
from training.train_encoder import train_encoder

pytestmark = pytest.mark.slow  # trains every ablation cell for real

CONFIGS = sorted(Path("training/configs").glob("ablation*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_committed_configs_validate(path: Path) -> None:
    load_config(path, AblationConfig)


def test_cells_carry_the_consistency_filter_only_when_augmented() -> None:
    cfg = AblationConfig(filter_encoder="models/weights/encoder.safetensors", train_n_g=[1])
    augmented = cell_config(EncoderTrainConfig(), cfg, 1).generative
    assert augmented is not None and augmented.filter_encoder == cfg.filter_encoder
    assert cell_config(EncoderTrainConfig(), cfg, 0).generative is None


def test_cells_complete_where_the_ablation_says() -> None:
    cfg = AblationConfig(bank=CompletionSettings(observed=30, gap="end"), train_n_g=[1, 3])
    augmented = cell_config(EncoderTrainConfig(), cfg, 1).generative
    assert augmented is not None and (augmented.bank.gap, augmented.bank.observed) == ("end", 30)
    assert augmented.n_g == 1 and augmented.bank.n_g == 3  # the bank holds max(train_n_g) per window


def test_ablation_trains_every_cell_and_writes_the_tables(tmp_path: Path, data_root: Path) -> None:
    enc_cfg = tmp_path / "encoder.yaml"
    enc_cfg.write_text(f"datasets: [msr]\ndata_root: {data_root}\nencoder: {{hidden: 16, blocks: 1}}\n")
    cfg = AblationConfig(
        encoder_config=str(enc_cfg), steps=4, train_n_g=[1, 2], table3_n_g=1,
        bank=CompletionSettings(steps=1), support=CompletionSettings(n_g=2, steps=1, observed=30, gap="end"),
        observed=[50, 30], dataset="msr", seeds=2,
        cache_dir=str(tmp_path / "banks"), filter_encoder="models/weights/encoder.safetensors",
    )  # fmt: skip
    report = run_ablation(cfg, tmp_path / "out", progress=False)
    assert sorted(p.name for p in (tmp_path / "out" / "encoders").glob("*.safetensors")) == [
        "ng0.safetensors", "ng1.safetensors", "ng2.safetensors",
    ]  # fmt: skip
    bank = json.loads((tmp_path / "out" / "encoders" / "ng2.json").read_text())["metrics"][
        "augmentation_bank"
    ]
    assert bank["bank_variants"] == 2 * bank["bank_windows"] > 0  # bank_size = max(train_n_g)
    assert 0.0 <= bank["consistent_variants"] <= 1.0 and 0.0 < bank["consistent_real_windows"] <= 1.0
    assert [(c["train_aug"], c["inference_aug"]) for c in report["table3"]] == [
        (False, False), (False, True), (True, False), (True, True),
    ]  # fmt: skip
    assert [c["train_n_g"] for c in report["fig7"]] == [0, 1, 2]
    assert [(c["observed"], c["predicted"]) for c in report["table4"]] == [(50, 10), (30, 30)]
    for c in report["table3"] + report["fig7"] + report["table4"]:
        assert 0.0 < c["all"] <= 1.0 and c["std_over_seeds"] >= 0.0
    assert json.loads((tmp_path / "out" / "ablation.json").read_text())["dataset"] == "msr"
    assert "Table 3" in (tmp_path / "out" / "ablation.md").read_text()


def test_a_rerun_retrains_a_cell_whose_settings_changed(tmp_path: Path, data_root: Path) -> None:
    cell = parse_config(
        f"datasets: [msr]\ndata_root: {data_root}\nsteps: 1\nencoder: {{hidden: 8, blocks: 1}}\n",
        EncoderTrainConfig,
    )
    path = tmp_path / "encoders" / "ng0.safetensors"
    assert not trained_with(path, cell)
    train_encoder(cell, out=path, progress=False)
    assert trained_with(path, cell)
    assert not trained_with(path, cell.model_copy(update={"steps": 2}))  # was reused, reported as 2
