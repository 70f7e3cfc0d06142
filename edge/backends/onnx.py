"""ONNX Runtime on the CPU, the default backend.

The encoder runs from an ONNX graph (``torch.onnx.export`` of :class:`models.encoder_graph.EncoderGraph`,
the TorchScript exporter, opset 17, dynamic
batch axis). The bundled weights ship with theirs (``models/weights/encoder.onnx``) and a record of
the weights it was exported from (``encoder.onnx.json``): a graph whose record names other weights
(stale) or whose bytes do not match it is refused. Any other checkpoint is exported once into
``<cache_dir>/encoder-<sha256 prefix>.onnx``. Only exporting needs torch, so a camera host with the
bundled or a cached graph never imports it (the lean install has no torch at all; tests/test_layout.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

from config.backend import GraphOptimization, OnnxRuntimeConfig, Precision
from edge.backends.base import (
    BackendUnavailable,
    check_windows,
    checkpoint_sha256,
    model_version,
    resolve_checkpoint,
)
from models.calibration_prior import load_prior
from models.encoder_config import read_encoder_metadata
from models.files import atomic_write, is_verified, write_verified

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


def export_graph(checkpoint: Path) -> bytes:
    """The encoder of ``checkpoint`` as an ONNX graph (checked by onnx). Needs torch and onnx (the
    ``train`` extra); raises :class:`BackendUnavailable` without them."""
    try:
        import onnx
        import torch
    except ImportError as e:
        raise BackendUnavailable(
            f"no ONNX graph of {checkpoint} is bundled or cached, and exporting one needs torch and onnx "
            f"({e}): install the train extra (pip install 'haad[train]') or export it on a host that has "
            "it (haad train export-onnx) and ship the .onnx and its .onnx.json beside the weights"
        ) from e

    from models.encoder import load_encoder
    from models.encoder_graph import EncoderGraph

    encoder, spec, _ = load_encoder(checkpoint)
    example = torch.zeros(2, spec.frames, encoder.config.joints, 3)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # dynamo=False is deliberate (the project's pinned exporter); its deprecation notice is noise.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            EncoderGraph(encoder),
            (example,),
            f"{tmp}/encoder.onnx",
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
        onnx.checker.check_model(f"{tmp}/encoder.onnx")
        return Path(f"{tmp}/encoder.onnx").read_bytes()


def quantise_graph(graph: bytes) -> bytes:
    """``graph`` with its weights dynamically quantised to int8 (ONNX Runtime's ``quantize_dynamic``;
    needs the onnx package, the ``train`` extra)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise BackendUnavailable(
            f"quantising the encoder graph needs onnx ({e}): pip install 'haad[train]'"
        ) from e

    with tempfile.TemporaryDirectory() as tmp:
        Path(f"{tmp}/fp32.onnx").write_bytes(graph)
        quantize_dynamic(f"{tmp}/fp32.onnx", f"{tmp}/int8.onnx", weight_type=QuantType.QInt8)
        return Path(f"{tmp}/int8.onnx").read_bytes()


def bundled_graph(checkpoint: Path, precision: Precision = "fp32") -> tuple[Path, Path]:
    """(graph, record) shipped beside ``checkpoint``: ``encoder.onnx`` and ``encoder.onnx.json`` (int8:
    ``encoder.int8.onnx`` and its ``.json``)."""
    graph = checkpoint.with_suffix(".onnx" if precision == "fp32" else f".{precision}.onnx")
    return graph, graph.with_name(graph.name + ".json")


def export_beside(checkpoint: Path) -> Path:
    """Export ``checkpoint``'s encoder beside it in every precision, each with the record that ties
    the graph to these weights; returns the fp32 graph."""
    fp32 = export_graph(checkpoint)
    sha = checkpoint_sha256(checkpoint)
    for precision, data in (("fp32", fp32), ("int8", quantise_graph(fp32))):
        graph, record = bundled_graph(checkpoint, precision)  # type: ignore[arg-type]
        facts = {
            "weights_sha256": sha,
            "onnx_sha256": hashlib.sha256(data).hexdigest(),
            "opset": OPSET,
            "exporter": "torch.onnx.export(dynamo=False)"
            + (", quantize_dynamic(QInt8)" if precision == "int8" else ""),
        }
        _write(graph, data)
        _write(record, (json.dumps(facts, indent=2) + "\n").encode())
    return bundled_graph(checkpoint)[0]


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data), mode=0o644)


def verified_bundled_graph(checkpoint: Path, sha: str, precision: Precision = "fp32") -> Path | None:
    """The graph beside ``checkpoint`` when its record names these weights (``sha``) and this opset
    and its bytes match the record; None (with a warning) for a stale or damaged one."""
    graph, record = bundled_graph(checkpoint, precision)
    if not graph.is_file():
        return None
    try:
        facts = json.loads(record.read_text())
    except (OSError, ValueError):
        facts = {}
    if not isinstance(facts, dict) or facts.get("weights_sha256") != sha or facts.get("opset") != OPSET:
        log.warning(
            "%s was not exported from %s as it is now (stale or unrecorded); not using it", graph, checkpoint
        )
        return None
    if hashlib.sha256(graph.read_bytes()).hexdigest() != facts.get("onnx_sha256"):
        log.warning("%s does not match the digest in %s (damaged); not using it", graph, record.name)
        return None
    return graph


def cached_onnx(checkpoint: Path, cache_dir: Path, precision: Precision = "fp32") -> tuple[Path, str]:
    """-> (the .onnx for ``checkpoint``: the verified one beside it, else the cached export, made on
    first use or again when the cached file no longer matches the digest written with it; the
    checkpoint's sha256)."""
    sha = checkpoint_sha256(checkpoint)
    bundled = verified_bundled_graph(checkpoint, sha, precision)
    if bundled is not None:
        return bundled, sha
    suffix = "" if precision == "fp32" else f"-{precision}"
    path = Path(cache_dir) / f"encoder-{sha[:16]}-opset{OPSET}{suffix}.onnx"
    if not is_verified(path):
        if path.exists():
            log.warning("cached encoder graph %s is damaged or unverified; exporting it again", path)
        graph = export_graph(checkpoint)
        if precision == "int8":
            graph = quantise_graph(graph)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_verified(path, graph)
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
        self.onnx_path, sha = cached_onnx(path, Path(config.cache_dir), config.precision)
        self.model_version = model_version(sha)
        self.calibration_prior = load_prior(path, self.model_version)
        self.rows_per_run = config.rows_per_run
        self.session = ort.InferenceSession(
            str(self.onnx_path),
            session_options(config.intra_op_threads, config.graph_optimization, config.allow_spinning),
            providers=["CPUExecutionProvider"],
        )

    def embed(self, windows: np.ndarray) -> np.ndarray:
        w = check_windows(windows, self.spec, self.joints)
        if len(w) == 0:
            return np.empty((0, self.embedding_dim), np.float32)
        step = self.rows_per_run
        runs = [
            self.session.run([OUTPUT_NAME], {INPUT_NAME: w[i : i + step]})[0] for i in range(0, len(w), step)
        ]
        return np.asarray(runs[0] if len(runs) == 1 else np.concatenate(runs), dtype=np.float32)
