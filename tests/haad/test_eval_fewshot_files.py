"""``haad eval fewshot`` on a clip-set file written as docs/benchmark.md says names every file it wrote:
it said only summary.json, while pairs.json and the ROC plot came too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from haad.cli import app


def test_fewshot_on_a_users_clip_set_names_every_file_it_wrote(tmp_path: Path, data_root: Path) -> None:
    # MSR Action3D's text files, as a user converts them: two actions by five people
    folder = data_root / "msr_action3d" / "skeleton3d_real_world"
    joints, labels, subjects = [], [], []
    for action in (1, 2):
        for path in sorted(folder.glob(f"a{action:02d}_s*_e01_skeleton3D.txt"))[:5]:
            joints.append(np.loadtxt(path).reshape(-1, 20, 4)[..., :3])
            labels.append(f"action{action}")
            subjects.append(path.name.split("_")[1])
    np.savez(
        tmp_path / "mine.npz",
        joints=np.concatenate(joints).astype(np.float32),
        offsets=np.cumsum([0] + [len(j) for j in joints]),
        labels=np.array(labels, dtype=str),
        subjects=np.array(subjects, dtype=str),
        layout="msr_action3d",
        fps=15.0,
    )
    out = tmp_path / "out"
    args = ["eval", "fewshot", "--dataset", str(tmp_path / "mine.npz"), "--seeds", "1", "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    written = sorted(p.name for p in out.iterdir())
    assert written == ["pairs.json", "roc_mine.png", "summary.json"]
    assert r.stdout.splitlines()[-1] == f"wrote {out / 'summary.json'}, pairs.json and roc_mine.png"
