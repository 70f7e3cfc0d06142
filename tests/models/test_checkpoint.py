"""models/checkpoint.py: weights and their JSON sidecar belong together or are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from models.checkpoint import WEIGHTS_DIGEST, load_state, save_checkpoint, sidecar_path
from models.encoder_config import DEFAULT_ENCODER_PATH


def _linear(seed: int) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


def test_new_weights_beside_the_sidecar_of_other_weights_are_refused(tmp_path: Path) -> None:
    # Weights and sidecar are written one after the other: a save killed between the two left new
    # weights beside the old sidecar (its architecture, window spec and metrics), loaded as a pair.
    old, new = tmp_path / "old" / "m.safetensors", tmp_path / "new" / "m.safetensors"
    save_checkpoint(old, _linear(0), "haad.test", {"window": "as trained"})
    save_checkpoint(new, _linear(1), "haad.test", {"window": "as trained"})
    assert torch.equal(load_state(old)["weight"], _linear(0).weight.detach())
    shutil.copy(new, old)  # the weights reached the disk, the new sidecar did not
    with pytest.raises(ValueError, match="not the weights m.json was written with"):
        load_state(old)


def test_the_sidecar_records_the_weights_and_one_without_that_record_is_read_as_before(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, _linear(0), "haad.test", {})
    meta = json.loads(sidecar_path(path).read_text())
    assert len(meta[WEIGHTS_DIGEST]) == 64
    # The bundled checkpoints (and users' older ones) were saved before the record existed.
    assert WEIGHTS_DIGEST not in json.loads(sidecar_path(DEFAULT_ENCODER_PATH).read_text())
    del meta[WEIGHTS_DIGEST]
    sidecar_path(path).write_text(json.dumps(meta))
    assert set(load_state(path)) == {"weight", "bias"}
