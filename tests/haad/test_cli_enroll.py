"""``haad enroll`` as an operator runs it (haad/cli/enroll.py): real clip files, real processes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clips import Clip
from clips.files import save_clipset_file
from haad.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def by_motion(kinder_gator) -> dict[str, list[Clip]]:  # type: ignore[no-untyped-def]
    """Three Kinder-Gator clips of each of two motions (real Kinect skeletons, several seconds)."""
    return {m: [c for c in kinder_gator.clips if c.label == m][:3] for m in ("Walk-in-place", "Bow")}


def _config(folder: Path) -> Path:
    path = folder / "edge.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "profiles_dir": str(folder / "profiles"),
                "worker": {"backend": {"type": "onnxruntime", "cache_dir": str(folder / "onnx")}},
            }
        )
    )
    return path


def test_a_profile_name_that_climbs_out_of_profiles_dir_makes_nothing(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, by_motion["Walk-in-place"])
    for name in ("../outside", "a b"):
        result = runner.invoke(
            app, ["enroll", "--profile", name, "--config", str(_config(tmp_path)), str(clipset)]
        )
        assert result.exit_code == 1 and f"error: invalid profile name {name!r}" in result.output, (
            result.output
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge.yaml", "walk.npz"]  # no folder, no lock
