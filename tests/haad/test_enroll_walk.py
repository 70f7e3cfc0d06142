"""``haad enroll`` as a new user walks it: what the terminal shows for clips it leaves out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clips import Clip
from clips.files import save_clipset_file
from tests.haad.cli_helpers import onnx_config


def test_a_clip_left_out_is_said_once_not_once_per_layer(tmp_path: Path, kinder_gator) -> None:  # type: ignore[no-untyped-def]
    # Each repeat was said twice on the terminal: "clip X skipped: given twice ..." (the library's
    # log line, through Python's last-resort handler) and then the command's own "warning: clip X
    # left out: given twice ...". A real process: pytest's log capture would swallow the first.
    walks: list[Clip] = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:2]
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, walks)
    args = [
        sys.executable,
        "-m",
        "haad",
        "enroll",
        "--profile",
        "ward",
        "--config",
        str(onnx_config(tmp_path)),
    ]
    done = subprocess.run([*args, str(clipset), str(clipset)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for c in walks:
        said = [line for line in done.stderr.splitlines() if f"{c.name} (2)" in line]
        assert said == [
            f"warning: clip {c.name} (2) left out: given twice (the same skeleton as clip {c.name})"
        ], done.stderr
    # Nothing left to enrol: the error names each clip and why, and no line says it before.
    again = subprocess.run(
        [*args, "--behaviour", "Walk-in-place", str(clipset)], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 2 and again.stderr.startswith("error: no usable clip to enrol ("), again.stderr
    assert len(again.stderr.splitlines()) == 1, again.stderr
