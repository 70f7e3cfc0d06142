"""A skeleton source's .npy a few bytes off (a header numpy cannot tokenise, one whose shape claims
218 TiB) is a problem `haad config validate` names, as every other unreadable file is; a frontend
replaying it stops with a SourceError, not a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from haad.cli import app


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"'fortran_order': False", b"'fortran_order':)False"),
        (b"'shape': (5, 20, 3)", b"'shape': (999999999999, 20, 3)"),
    ],
    ids=["header", "huge"],
)
def test_a_damaged_skeleton_source_is_a_problem_validate_names(
    tmp_path: Path, old: bytes, new: bytes
) -> None:
    good = io.BytesIO()
    np.save(good, np.zeros((5, 20, 3), np.float32))
    (tmp_path / "s.npy").write_bytes(good.getvalue().replace(old, new))
    config = tmp_path / "edge.yaml"
    config.write_text(f"streams: [{{id: cam, source: {{kind: skeleton, path: {tmp_path / 's.npy'}}}}}]\n")
    r = CliRunner().invoke(app, ["config", "validate", str(config)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2 and "s.npy" in r.output
