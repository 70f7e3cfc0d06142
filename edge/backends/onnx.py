"""ONNX Runtime on the CPU, the default backend.

The encoder is exported once per checkpoint (``torch.onnx.export``, TorchScript exporter, opset 17,
dynamic batch axis) into ``<cache_dir>/encoder-<sha256 prefix>.onnx``; later starts load that file.
The export is the only step that needs torch; it is imported only when a cached file is missing,
so a camera host with the cache never loads torch (tests/edge/backends check ``sys.modules``).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

from config.backend import GraphOptimization, OnnxRuntimeConfig
from edge.backends.base import check_windows, checkpoint_sha256, model_version, resolve_checkpoint
from models.calibration_prior import load_prior
from models.encoder_config import read_encoder_metadata
from models.files import is_verified, write_verified

log = logging.getLogger(__name__)
OPSET = 17
INPUT_NAME = "windows"
OUTPUT_NAME = "embedding"
_OPT_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def export_onnx(checkpoint: Path, out: Path) -> None:
    """Export the encoder of ``checkpoint`` to ``out`` (checked by onnx, then written atomically)."""
    import onnx
    import torch

    from models.encoder import load_encoder

    encoder, spec, _ = load_encoder(checkpoint)
    example = torch.zeros(2, spec.frames, encoder.config.joints, 3)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # dynamo=False is deliberate (the project's pinned exporter); its deprecation notice is noise.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            encoder,
            (example,),
            f"{tmp}/encoder.onnx",
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
        onnx.checker.check_model(f"{tmp}/encoder.onnx")
        graph = Path(f"{tmp}/encoder.onnx").read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    write_verified(out, graph)


def cached_onnx(checkpoint: Path, cache_dir: Path) -> tuple[Path, str]:
    """-> (the .onnx for ``checkpoint``, exported on first use or again when the cached file no longer
    matches the digest written with it; the checkpoint's sha256)."""
    sha = checkpoint_sha256(checkpoint)
    path = Path(cache_dir) / f"encoder-{sha[:16]}-opset{OPSET}.onnx"
    if not is_verified(path):
        if path.exists():
            log.warning("cached encoder graph %s is damaged or unverified; exporting it again", path)
        export_onnx(checkpoint, path)
    return path, sha


def session_options(
    intra_op_threads: int, graph_optimization: GraphOptimization, allow_spinning: bool
) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = intra_op_threads
    so.inter_op_num_threads = 1  # the graph is one chain: nothing to run side by side
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = _OPT_LEVELS[graph_optimization]
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
    return so


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self, config: OnnxRuntimeConfig, checkpoint: Path | None = None) -> None:
        path = resolve_checkpoint(checkpoint)
        enc, self.spec, _ = read_encoder_metadata(path)
        self.joints, self.embedding_dim = enc.joints, enc.embedding_dim
        self.onnx_path, sha = cached_onnx(path, Path(config.cache_dir))
        self.model_version = model_version(sha)
        self.calibration_prior = load_prior(path, self.model_version)
        self.session = ort.InferenceSession(
            str(self.onnx_path),
            session_options(config.intra_op_threads, config.graph_optimization, config.allow_spinning),
            providers=["CPUExecutionProvider"],
        )

    def embed(self, windows: np.ndarray) -> np.ndarray:
        w = check_windows(windows, self.spec, self.joints)
        if len(w) == 0:
            return np.empty((0, self.embedding_dim), np.float32)
        (out,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: w})
        return np.asarray(out, dtype=np.float32)
