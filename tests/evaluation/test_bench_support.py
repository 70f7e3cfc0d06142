"""The support-set augmentation benchmark command."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from haad.cli import app
from models.humanmac import HumanMAC, save_humanmac


def test_bench_command_times_a_three_clip_support_set(
    tiny_humanmac: HumanMAC, tmp_path: Path, data_root: Path
) -> None:
    model = tmp_path / "hm.safetensors"
    save_humanmac(model, tiny_humanmac, {})
    result = CliRunner().invoke(
        app,
        ["bench", "support-aug", "--model", str(model), "--samples", "2", "--steps", "2", "--repeats", "1",
         "--data-root", str(data_root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 clips of" in result.output and "median" in result.output
