"""``haad eval macdiff``: simulated dropouts, the linear baseline, and the command on real test windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evaluation.macdiff import MAX_RUN, MIN_RUN, joint_error, linear_fill, simulate_dropouts
from haad.cli import app
from models.humanmac import HumanMAC, save_humanmac
from models.macdiff import MacDiff, save_macdiff
from training.protocol import KINDER_GATOR


def test_dropouts_hide_runs_of_non_root_joints_inside_the_window() -> None:
    known = simulate_dropouts((50, 60, 20, 3), 3, np.random.default_rng(0))
    assert known[:, :, 0].all() and known[:, 0].all() and known[:, -1].all()  # root, first and last frame
    missing = (~known).sum(axis=1)  # (N, J) frames missing per joint
    assert ((missing > 0).sum(axis=1) == 3).all()
    assert missing[missing > 0].min() >= MIN_RUN and missing.max() <= MAX_RUN


def test_linear_fill_is_exact_on_straight_motion_and_errors_count_missing_joints_only() -> None:
    t = np.arange(60, dtype=np.float32)[None, :, None, None]
    w = np.zeros((1, 60, 20, 3), np.float32) + np.array([0.01, 0.02, 0.0], np.float32) * t
    known = simulate_dropouts(w.shape, 2, np.random.default_rng(1))
    filled = linear_fill(w, known, fps=20.0)
    np.testing.assert_allclose(filled, w, atol=1e-5)
    off = w.copy()
    off[~known] += np.array([0.3, 0.4, 0.0], np.float32)  # 0.5 away wherever a joint is missing
    off[0, 0, 0] += 9.0  # a known joint: not counted
    assert joint_error(off, w, known).item() == pytest.approx(0.5, rel=1e-5)


@pytest.mark.slow  # MacDiff and HumanMAC over real test windows
def test_eval_command_writes_json_and_figure(
    tiny_macdiff: MacDiff, tiny_humanmac: HumanMAC, tmp_path: Path, data_root: Path
) -> None:
    model, hm, out = tmp_path / "md.safetensors", tmp_path / "hm.safetensors", tmp_path / "eval"
    save_macdiff(model, tiny_macdiff, {})
    save_humanmac(hm, tiny_humanmac, {})
    result = CliRunner().invoke(
        app,
        ["eval", "macdiff", "--model", str(model), "--humanmac", str(hm), "--samples", "2", "--steps", "2",
         "--max-windows", "24", "--t-s", "100", "--t-s", "500", "--out", str(out), "--data-root", str(data_root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "macdiff_eval.json").read_text())
    assert summary["windows"] == 24 and summary["test_subjects"] == sorted(KINDER_GATOR.test_subjects)
    r = summary["reconstruction"]
    assert {"linear", "macdiff", "macdiff-from-linear"} <= set(r) and 0 < r["missing_share"] < 0.1
    shares = summary["consistency"]["shares"]
    assert set(shares) == {"macdiff t_s=100", "macdiff t_s=500", "real windows", "humanmac middle O=40"}
    assert all(0.0 <= m["share"] <= 1.0 for m in shares.values())
    assert (
        shares["macdiff t_s=100"]["change"] < shares["macdiff t_s=500"]["change"]
    )  # more noise, more change
    assert (out / "macdiff_examples.png").stat().st_size > 10_000
    assert "linear" in result.output and "humanmac" in result.output
