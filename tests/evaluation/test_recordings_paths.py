"""``haad eval stream --recordings`` given a path as a script or an option's '=' passes it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clips import Clip, save_clipset_file
from haad.cli import app
from tests.haad.cli_helpers import onnx_config
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR

runner = CliRunner()
NORMAL = "Walk-in-place"


@pytest.mark.parametrize("feedback", [[], ["--feedback", "1"]], ids=["stream", "feedback"])
def test_a_recording_file_written_from_the_home_folder_is_read_and_named_as_the_file_there(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feedback: list[str]
) -> None:
    # --recordings=~/walks.npz reaches haad unexpanded (the shell expands no ~ after '='), as does a
    # path from a script: 'clip-set file not found: ~/walks.npz'.
    kg = load_dataset("kinder-gator", data_root)
    recordings = []
    for s in sorted(KINDER_GATOR.test_subjects)[:3]:
        walk, punch = (next(c for c in kg.clips if (c.subject, c.label) == (s, a)) for a in (NORMAL, "Punch"))
        labels = np.array([NORMAL] * len(walk.times) + ["Punch"] * len(punch.times))
        times = np.concatenate([walk.times, punch.times - punch.times[0] + walk.times[-1] + 1 / 30])
        recordings.append(Clip(np.concatenate([walk.joints, punch.joints]), times, "", s, f"rec-{s}", labels))
    monkeypatch.setenv("HOME", str(tmp_path))
    save_clipset_file(tmp_path / "walks.npz", recordings)
    result = runner.invoke(
        app,
        ["eval", "stream", "--recordings", "~/walks.npz", "--normal", NORMAL,
         "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path / "out"), *feedback],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = f"{'feedback' if feedback else 'stream'}_walks.json"
    summary = json.loads((tmp_path / "out" / report).read_text())
    assert summary["recordings_file"] == str((tmp_path / "walks.npz").resolve())
