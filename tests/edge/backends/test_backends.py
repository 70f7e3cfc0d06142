"""Encoder backends: ONNX Runtime and TensorRT against the PyTorch reference on real windows, the
export cache, and the factory. Without trained weights a freshly initialised encoder (with randomised
batch-norm statistics, so every layer matters) stands in; the committed encoder is checked too when present."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from config.backend import OnnxRuntimeConfig, TensorRTConfig, TorchConfig
from config.loader import ConfigError, parse_config
from config.worker import WorkerConfig
from edge.backends import BackendUnavailable, make_backend
from edge.backends.base import checkpoint_sha256
from edge.backends.onnx import OnnxRuntimeBackend, export_beside, export_graph, verified_bundled_graph
from edge.backends.torch_eager import TorchEagerBackend
from models.encoder import DEFAULT_ENCODER_PATH, EncoderConfig, build_encoder, save_encoder
from models.preprocess import WindowSpec, clip_to_windows
from training.datasets import load_dataset


def fresh_checkpoint(path: Path, seed: int, members: int = 1) -> Path:
    torch.manual_seed(seed)
    enc = build_encoder(EncoderConfig(members=members))
    with torch.no_grad():
        for m in enc.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.normal_(0.0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    save_encoder(path, enc.eval(), WindowSpec(), {"note": "randomly initialised (tests)"})
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_checkpoint(tmp_path_factory.mktemp("enc") / "encoder.safetensors", seed=0)


@pytest.fixture(scope="module")
def real_windows(kinder_gator, data_root: Path) -> np.ndarray:
    """Normalised windows of real Kinder-Gator and MSR Action3D clips, cut by the enrolment rule."""
    spec = WindowSpec()
    msr = load_dataset("msr", data_root).clips[::40]
    return np.concatenate(
        [clip_to_windows(c.joints, c.times, spec) for c in (*kinder_gator.clips[::60], *msr)]
    )


@pytest.fixture(scope="module")
def ensemble_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_checkpoint(tmp_path_factory.mktemp("ens") / "encoder.safetensors", seed=2, members=2)


def checkpoints(*made: Path) -> list[Path]:
    return [*made] + ([DEFAULT_ENCODER_PATH] if DEFAULT_ENCODER_PATH.is_file() else [])


def test_onnxruntime_embeddings_match_pytorch_on_real_windows(
    checkpoint: Path, ensemble_checkpoint: Path, real_windows: np.ndarray, tmp_path: Path
) -> None:
    assert len(real_windows) >= 32
    for ckpt in checkpoints(checkpoint, ensemble_checkpoint):
        ref = TorchEagerBackend(TorchConfig(), ckpt).embed(real_windows)
        ort_backend = OnnxRuntimeBackend(OnnxRuntimeConfig(cache_dir=str(tmp_path), precision="fp32"), ckpt)
        out = ort_backend.embed(real_windows)
        assert out.shape == ref.shape == (len(real_windows), ort_backend.embedding_dim)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
        # Batch size is a dynamic axis: one window alone gives the same embedding.
        np.testing.assert_allclose(ort_backend.embed(real_windows[3:4]), ref[3:4], atol=1e-4, rtol=0)


def test_onnx_export_is_cached_by_checkpoint_hash(checkpoint: Path, tmp_path: Path) -> None:
    cfg = OnnxRuntimeConfig(cache_dir=str(tmp_path / "cache"))
    first = OnnxRuntimeBackend(cfg, checkpoint)
    stamp = first.onnx_path.stat().st_mtime_ns
    again = OnnxRuntimeBackend(cfg, checkpoint)
    assert again.onnx_path == first.onnx_path and again.onnx_path.stat().st_mtime_ns == stamp
    other = OnnxRuntimeBackend(cfg, fresh_checkpoint(tmp_path / "other.safetensors", seed=1))
    assert other.onnx_path != first.onnx_path and other.model_version != first.model_version
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        [
            first.onnx_path.name,
            other.onnx_path.name,
            first.onnx_path.name + ".sha256",
            other.onnx_path.name + ".sha256",
        ]
    )  # no temporary files left behind


def test_a_damaged_cached_graph_is_exported_again(checkpoint: Path, tmp_path: Path) -> None:
    cfg = OnnxRuntimeConfig(cache_dir=str(tmp_path / "cache"))
    first = OnnxRuntimeBackend(cfg, checkpoint)
    good = first.onnx_path.read_bytes()
    windows = np.random.default_rng(0).normal(size=(3, 60, 20, 3)).astype(np.float32)
    first.onnx_path.write_bytes(good[: len(good) // 3])  # a crash or a full disk truncated it
    again = OnnxRuntimeBackend(cfg, checkpoint)
    assert again.onnx_path.read_bytes() == good
    np.testing.assert_array_equal(again.embed(windows), first.embed(windows))


def test_the_bundled_graph_belongs_to_the_bundled_weights() -> None:
    """A retrained encoder committed without a fresh ``haad train export-onnx`` fails here, not on a
    camera host without torch."""
    sha = checkpoint_sha256(DEFAULT_ENCODER_PATH)
    assert verified_bundled_graph(DEFAULT_ENCODER_PATH, sha) == DEFAULT_ENCODER_PATH.with_suffix(".onnx")
    int8 = verified_bundled_graph(DEFAULT_ENCODER_PATH, sha, "int8")
    assert int8 == DEFAULT_ENCODER_PATH.with_suffix(".int8.onnx")


def test_the_int8_graph_embeds_close_to_fp32(real_windows: np.ndarray, tmp_path: Path) -> None:
    """Dynamically quantised weights: the same model version, embeddings a little off (a guard rail;
    haad eval fewshot --onnx int8 measures what that costs, docs/worker.md)."""
    fp32 = OnnxRuntimeBackend(OnnxRuntimeConfig(cache_dir=str(tmp_path), precision="fp32"))
    int8 = OnnxRuntimeBackend(OnnxRuntimeConfig(cache_dir=str(tmp_path), precision="int8"))
    assert int8.onnx_path.name == "encoder.int8.onnx" and int8.model_version == fp32.model_version
    a, b = fp32.embed(real_windows), int8.embed(real_windows)
    cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert 0 < np.abs(a - b).max() < 0.08 and cosine.min() > 0.98  # measured: 0.041, 0.987


def _copy_checkpoint(src: Path, folder: Path) -> Path:
    folder.mkdir()
    for part in (src, src.with_suffix(".json")):
        shutil.copy(part, folder / part.name)
    return folder / src.name


def test_a_graph_beside_other_weights_or_damaged_is_refused(
    checkpoint: Path, real_windows: np.ndarray, tmp_path: Path
) -> None:
    cfg = OnnxRuntimeConfig(cache_dir=str(tmp_path / "cache"), precision="fp32")
    first = _copy_checkpoint(checkpoint, tmp_path / "first")
    graph = export_beside(first)
    assert OnnxRuntimeBackend(cfg, first).onnx_path == graph and not (tmp_path / "cache").exists()
    # Retrained weights with the old graph and record left beside them: the stale graph is not used.
    retrained = fresh_checkpoint(tmp_path / "retrained" / "encoder.safetensors", seed=1)
    for part in (graph, graph.with_name("encoder.onnx.json")):
        shutil.copy(part, retrained.parent / part.name)
    backend = OnnxRuntimeBackend(cfg, retrained)
    assert backend.onnx_path.parent == tmp_path / "cache"
    ref = TorchEagerBackend(TorchConfig(), retrained).embed(real_windows[:8])
    np.testing.assert_allclose(backend.embed(real_windows[:8]), ref, atol=1e-4, rtol=0)
    # A damaged graph beside the right weights is not used either.
    graph.write_bytes(graph.read_bytes()[:1000])
    assert OnnxRuntimeBackend(cfg, first).onnx_path.parent == tmp_path / "cache"


def test_factory_builds_the_configured_backend_with_spec_and_model_version(
    checkpoint: Path, tmp_path: Path
) -> None:
    a = make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path)), checkpoint)
    b = make_backend(TorchConfig(), checkpoint)
    assert (a.name, b.name) == ("onnxruntime", "torch")
    assert a.spec == b.spec == WindowSpec() and a.embedding_dim == b.embedding_dim == 128
    assert a.model_version == b.model_version and len(a.model_version) == 12
    empty = np.zeros((0, 60, 20, 3), np.float32)
    assert a.embed(empty).shape == (0, 128)
    with pytest.raises(ValueError, match="shape"):
        a.embed(np.zeros((2, 30, 20, 3), np.float32))


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path)), tmp_path / "nowhere.safetensors")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on hosts without CUDA")
def test_gpu_backends_refuse_to_start_without_cuda(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="TensorrtExecutionProvider"):
        make_backend(TensorRTConfig(onnx_cache_dir=str(tmp_path)), checkpoint)
    with pytest.raises(BackendUnavailable, match="cuda"):
        make_backend(TorchConfig(device="cuda"), checkpoint)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device with TensorRT")
def test_tensorrt_embeddings_match_pytorch_on_real_windows(
    checkpoint: Path, real_windows: np.ndarray, tmp_path: Path
) -> None:
    ref = TorchEagerBackend(TorchConfig(), checkpoint).embed(real_windows)
    for fp16, atol in ((False, 1e-3), (True, 2e-2)):
        cfg = TensorRTConfig(
            fp16=fp16,
            onnx_cache_dir=str(tmp_path),
            engine_cache_dir=str(tmp_path / f"trt{fp16}"),
            max_batch=64,
            opt_batch=32,
        )
        out = make_backend(cfg, checkpoint).embed(real_windows)  # more than max_batch: split into calls
        np.testing.assert_allclose(out, ref, atol=atol, rtol=0)


def test_backend_config_is_chosen_by_type_in_yaml() -> None:
    cfg = parse_config("backend:\n  type: torch\n  threads: 2\nstride: 3\n", WorkerConfig)
    assert isinstance(cfg.backend, TorchConfig) and cfg.backend.threads == 2 and cfg.stride == 3
    assert isinstance(WorkerConfig().backend, OnnxRuntimeConfig)
    with pytest.raises(ConfigError, match=r"<config>:2: backend\.fp16: "):
        parse_config("backend:\n  fp16: maybe\n  type: tensorrt\n", WorkerConfig)
    with pytest.raises(ConfigError, match="max_pending_windows"):
        parse_config("max_batch: 100\nmax_pending_windows: 10\n", WorkerConfig)
    with pytest.raises(ConfigError, match="opt_batch"):
        parse_config("backend: {type: tensorrt, opt_batch: 512, max_batch: 64}\n", WorkerConfig)


def test_a_batch_split_into_runs_embeds_as_one_run(real_windows: np.ndarray, tmp_path: Path) -> None:
    """The worker's batches (windows and their crops) run in pieces of rows_per_run; a window's fp32
    embedding must not depend on the pieces."""
    whole = OnnxRuntimeBackend(OnnxRuntimeConfig(cache_dir=str(tmp_path), rows_per_run=len(real_windows)))
    pieces = OnnxRuntimeBackend(OnnxRuntimeConfig(cache_dir=str(tmp_path), rows_per_run=3))
    assert len(real_windows) % 3 != 0  # a short last run too
    np.testing.assert_allclose(pieces.embed(real_windows), whole.embed(real_windows), atol=1e-6, rtol=0)


def test_the_exported_graph_is_the_folded_encoder_not_the_training_module(checkpoint: Path) -> None:
    """Batch norm folded and the DCT one MatMul: no BatchNormalization or Einsum node is left for ONNX
    Runtime to repeat per call (models/encoder_graph.py)."""
    import onnx

    ops = {n.op_type for n in onnx.load_from_string(export_graph(checkpoint)).graph.node}
    assert "MatMul" in ops and not ops & {"BatchNormalization", "Einsum"}
