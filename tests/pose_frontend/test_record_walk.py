"""``haad frontend record`` walked as an operator enrolling from their own camera: what it says and
writes when the recording is not what they meant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from haad.cli.frontend import app as frontend_app


def test_record_where_nobody_is_ever_seen_writes_nothing(tmp_path: Path) -> None:
    # It wrote the file, exit 0, "the person recorded in 0 of them": haad enroll then refused it
    # ("no joint is measured in any frame"), long after the operator had left the camera.
    np.save(tmp_path / "empty.npy", np.full((8, 20, 3), np.nan, dtype=np.float32))
    config = tmp_path / "f.yaml"
    config.write_text(
        f"streams:\n  - {{id: door, source: {{kind: skeleton, path: {tmp_path / 'empty.npy'}}}}}\n"
    )
    out = tmp_path / "a.npz"
    result = CliRunner().invoke(frontend_app, ["record", str(config), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "error: nobody was seen in the 8 frames of stream door: nothing written" in result.output
    assert not out.exists()
