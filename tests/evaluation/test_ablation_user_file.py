"""``haad train ablation`` on a user's clip-set file: what it says of the encoder's training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from clips.files import save_clipset_file
from config.ablation import AblationConfig
from config.completions import CompletionSettings
from evaluation import ablation
from models.encoder import ActionEncoder, EncoderConfig, save_encoder
from models.preprocess import WindowSpec


def test_a_user_file_is_not_reported_as_categories_the_encoder_never_saw(
    tmp_path: Path, kinder_gator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every category of a user's file was reported 'unseen' (held out of training) and 'seen' was
    # empty: split_for calls the whole file a test split, which says nothing of what the encoder
    # trained on. `haad eval fewshot` says nothing of it for a user's file; the ablation neither.
    def untrained(cfg: Any, *, out: Path, progress: bool) -> None:  # the cells, without minutes of training
        torch.manual_seed(0)
        save_encoder(out, ActionEncoder(EncoderConfig(hidden=8, blocks=1)).eval(), WindowSpec(), {})

    monkeypatch.setattr(ablation, "train_encoder", untrained)
    mine = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3] + [
        c for c in kinder_gator.clips if c.label == "Bow"
    ][:3]
    clipset = tmp_path / "mine.npz"
    save_clipset_file(clipset, mine)
    cfg = AblationConfig(
        steps=1, train_n_g=[1], table3_n_g=1, support=CompletionSettings(n_g=1, steps=1, observed=50),
        observed=[50], dataset=str(clipset), shots=1, seeds=1, cache_dir=str(tmp_path / "banks"),
    )  # fmt: skip
    report = ablation.run_ablation(cfg, tmp_path / "out", progress=False)
    for cell in report["table3"] + report["fig7"] + report["table4"]:
        assert cell["all"] is not None and cell["seen"] is None and cell["unseen"] is None, cell
