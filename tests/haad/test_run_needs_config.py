"""``haad run`` without --config refuses to start (exit 2, naming what to give) and writes nothing.

It ran the defaults: a synthetic camera scored against every profile in ./profiles, its alerts in
./haad-alerts.db, the very files a user following the README keeps in that folder (the walk-through
got an alert "calm+ward" from a fake camera in its real log)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from edge.demo import PROFILES_DIR


def test_run_without_config_refuses_and_writes_nothing_in_the_working_folder(tmp_path: Path) -> None:
    shutil.copytree(PROFILES_DIR / "demo-walk", tmp_path / "profiles" / "demo-walk")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    result = subprocess.run(
        [sys.executable, "-m", "haad", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (
        "error: give the deployment's --config edge.yaml (haad config defaults > edge.yaml makes one); "
        "haad demo runs the whole pipeline on built-in data\n"
    )
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before  # no haad-alerts.db
