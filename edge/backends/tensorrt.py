"""TensorRT on a CUDA host, through ONNX Runtime's TensorRT execution provider.

UNTESTED HERE: the project's machines have no CUDA device and no ``onnxruntime-gpu``/TensorRT
install, so this module has never run. It is written against the documented provider options of
onnxruntime-gpu 1.31 (the ``gpu`` extra, then ``pip install --force-reinstall --no-deps
onnxruntime-gpu==1.31.1``, as it shares the ``onnxruntime`` module with the CPU package; TensorRT's
libraries: the ``tensorrt`` extra, from NVIDIA's index), and its test (marked ``gpu``) skips without CUDA. What is exercised on CPU hosts is only the refusal below.

The ONNX graph is the CPU backend's (bundled beside the weights, or exported to the cache); TensorRT builds an
engine for batch sizes 1..``max_batch`` tuned for ``opt_batch`` and caches it in ``engine_cache_dir``
(the first start takes minutes, later starts load the engine). Larger batches are split. With
``fp16`` the embeddings differ from the fp32 reference by about 1e-3, which is far below the
distances that separate normal from abnormal windows. CUDA is the fallback provider for any node
TensorRT does not take; the backend refuses to start if TensorRT is not among the session's
providers, rather than silently running somewhere slower.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from config.backend import TensorRTConfig
from edge.backends.base import BackendUnavailable, check_windows, model_version, resolve_checkpoint
from edge.backends.onnx import INPUT_NAME, OUTPUT_NAME, cached_onnx, session_options
from models.calibration_prior import load_prior
from models.encoder_config import read_encoder_metadata

PROVIDER = "TensorrtExecutionProvider"


class TensorRTBackend:
    name = "tensorrt"

    def __init__(self, config: TensorRTConfig, checkpoint: Path | None = None) -> None:
        import onnxruntime as ort

        if PROVIDER not in ort.get_available_providers():
            raise BackendUnavailable(
                f"onnxruntime {ort.__version__} has no {PROVIDER} (available: {ort.get_available_providers()}); "
                "on a CUDA host install the gpu extra (pip install 'haad[gpu]'), or use backend type onnxruntime"
            )
        path = resolve_checkpoint(checkpoint)
        enc, self.spec, _ = read_encoder_metadata(path)
        self.joints, self.embedding_dim = enc.joints, enc.embedding_dim
        self.max_batch = config.max_batch
        onnx_path, sha = cached_onnx(path, Path(config.onnx_cache_dir))
        self.model_version = model_version(sha)
        self.calibration_prior = load_prior(path, self.model_version)
        engine_dir = Path(config.engine_cache_dir)
        engine_dir.mkdir(parents=True, exist_ok=True)

        def shape(batch: int) -> str:
            return f"{INPUT_NAME}:{batch}x{self.spec.frames}x{self.joints}x3"

        trt_options = {
            "device_id": config.device_id,
            "trt_fp16_enable": config.fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(engine_dir),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(engine_dir),
            "trt_max_workspace_size": config.workspace_mb * 1024 * 1024,
            "trt_profile_min_shapes": shape(1),
            "trt_profile_opt_shapes": shape(config.opt_batch),
            "trt_profile_max_shapes": shape(config.max_batch),
        }
        self.session = ort.InferenceSession(
            str(onnx_path),
            session_options(0, "all", allow_spinning=False),
            providers=[(PROVIDER, trt_options), ("CUDAExecutionProvider", {"device_id": config.device_id})],
        )
        if PROVIDER not in self.session.get_providers():
            raise BackendUnavailable(
                f"{PROVIDER} failed to initialise (session providers: {self.session.get_providers()})"
            )

    def embed(self, windows: np.ndarray) -> np.ndarray:
        w = check_windows(windows, self.spec, self.joints)
        if len(w) == 0:
            return np.empty((0, self.embedding_dim), np.float32)
        parts = [
            self.session.run([OUTPUT_NAME], {INPUT_NAME: w[i : i + self.max_batch]})[0]
            for i in range(0, len(w), self.max_batch)
        ]
        return np.concatenate(parts).astype(np.float32, copy=False)
