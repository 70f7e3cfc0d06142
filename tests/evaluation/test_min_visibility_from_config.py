"""A user's clip files are read with the config's ``worker.min_visibility``, as the live worker reads
the same frames: ``haad eval stream --recordings`` and ``haad enroll`` given ``--config``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from typer.testing import CliRunner

from haad.cli import app

runner = CliRunner()


def _squat_seen_at(squat_clipset: Callable[..., Path], visibility: float) -> Path:
    """MediaPipe's own squat as a one-recording set, every landmark ``visibility``, each frame
    labelled squat."""
    return squat_clipset("squats.npz", visibility, frame_labels=np.full(65, "squat"))


def _config(folder: Path, min_visibility: float) -> Path:
    path = folder / "edge.yaml"
    worker = {"min_visibility": min_visibility}
    path.write_text(yaml.safe_dump({"profiles_dir": str(folder / "profiles"), "worker": worker}))
    return path


def test_eval_stream_reads_recordings_with_the_configs_min_visibility(
    squat_clipset: Callable[..., Path], tmp_path: Path
) -> None:
    # Read at the default 0.5, the frames of visibility 0.7 a worker set to 0.8 leaves out were scored.
    recordings = _squat_seen_at(squat_clipset, 0.7)
    args = ["eval", "stream", "--recordings", str(recordings), "--normal", "squat", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--config", str(_config(tmp_path, 0.8))])
    assert result.exit_code == 2, result.output
    assert "no recording holds" in result.output and "of skeleton to score" in result.output


def test_enroll_reads_clip_files_with_the_configs_min_visibility(
    squat_clipset: Callable[..., Path], tmp_path: Path
) -> None:
    clips = _squat_seen_at(squat_clipset, 0.7)
    args = ["enroll", "--profile", "squats", str(clips)]
    result = runner.invoke(app, [*args, "--config", str(_config(tmp_path, 0.8))])
    assert result.exit_code == 2, result.output
    # Read at the default, the squat was enrolled from frames the worker would never score.
    assert "cannot enrol: squats:0: the clip has no frame" in result.output
    assert not (tmp_path / "profiles" / "squats").exists()
