"""``haad eval fewshot``'s table says a category was never seen in training only where that is known:
a built-in benchmark's held-out categories, never a user's own file."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from clips import save_clipset_file
from evaluation.run_fewshot import format_table
from haad.cli import app
from models.encoder import ActionEncoder, EncoderConfig, save_encoder
from models.preprocess import WindowSpec


def test_a_users_file_is_not_said_to_be_unseen_in_training(tmp_path: Path, kinder_gator) -> None:  # type: ignore[no-untyped-def]
    # Every category of a user's file was marked '*' with '(* = category never seen in training)'
    # and its mean put in an 'unseen' row: said of Walk-in-place, which an encoder may have trained on.
    labels = ("Walk-in-place", "Jump", "Bow")
    clips = [c for label in labels for c in [c for c in kinder_gator.clips if c.label == label][:4]]
    save_clipset_file(tmp_path / "mine.npz", clips)
    torch.manual_seed(0)
    save_encoder(
        tmp_path / "enc.safetensors",
        ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(),
        WindowSpec(),
        {},
    )
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["eval", "fewshot", "--dataset", str(tmp_path / "mine.npz"), "--encoder", str(tmp_path / "enc.safetensors"),
         "--shots", "2", "--seeds", "1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "never seen in training" not in result.output and " *" not in result.output, result.output
    assert not [line for line in result.output.splitlines() if line.startswith(("seen ", "unseen "))]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["unseen_categories"] is None
    method = summary["methods"]["encoder"]
    assert method["seen"] is None and method["unseen"] is None
    assert {row["unseen"] for row in method["per_category"].values()} == {None}


def test_a_benchmarks_held_out_categories_keep_their_mark() -> None:
    method = {
        "per_category": {"a01": {"auc": 0.9, "std": 0.0, "unseen": False}, "a03": {"auc": 0.8, "std": 0.0, "unseen": True}},
        "all": 0.85, "seen": 0.9, "unseen": 0.8, "std_over_seeds": 0.0, "mean_category_std": 0.0, "hardest_pairs": [],
    }  # fmt: skip
    table = format_table({"methods": {"encoder": method}, "unseen_categories": ["a03"]})
    assert "a03 *" in table and "a01 *" not in table and "(* = category never seen in training)" in table
    assert [line.split()[0] for line in table.splitlines() if line.startswith(("seen", "unseen"))] == [
        "seen",
        "unseen",
    ]
