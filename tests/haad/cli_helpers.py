"""Helpers of the CLI tests (also used by the evaluation tests that run `haad eval`)."""

from __future__ import annotations

from pathlib import Path

import yaml


def onnx_config(folder: Path) -> Path:
    """``folder/edge.yaml``: profiles and the ONNX Runtime backend's cache in ``folder``."""
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
