"""Encoder inference backends behind one interface; ``make_backend`` picks one from config.

The worker reaches the encoder only through an :class:`EncoderBackend`. Each backend module is
imported when it is chosen, so a CPU host never imports GPU packages and an ONNX-only host never
pays for importing torch at start (unless the ONNX file must first be exported).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.backend import BackendConfig, OnnxRuntimeConfig, TensorRTConfig, TorchConfig
from edge.backends.base import BackendUnavailable, EncoderBackend


def _onnxruntime(cfg: OnnxRuntimeConfig, checkpoint: Path | None) -> EncoderBackend:
    from edge.backends.onnx import OnnxRuntimeBackend

    return OnnxRuntimeBackend(cfg, checkpoint)


def _tensorrt(cfg: TensorRTConfig, checkpoint: Path | None) -> EncoderBackend:
    from edge.backends.tensorrt import TensorRTBackend

    return TensorRTBackend(cfg, checkpoint)


def _torch(cfg: TorchConfig, checkpoint: Path | None) -> EncoderBackend:
    from edge.backends.torch_eager import TorchEagerBackend

    return TorchEagerBackend(cfg, checkpoint)


_BACKENDS: dict[type, Callable[..., EncoderBackend]] = {
    OnnxRuntimeConfig: _onnxruntime,
    TensorRTConfig: _tensorrt,
    TorchConfig: _torch,
}


def make_backend(cfg: BackendConfig, checkpoint: Path | None = None) -> EncoderBackend:
    """The backend ``cfg`` describes, loaded from ``checkpoint`` (default: the bundled encoder).

    Raises FileNotFoundError for a missing checkpoint and :class:`BackendUnavailable` when the
    backend cannot run on this host.
    """
    factory = _BACKENDS.get(type(cfg))
    if factory is None:
        raise TypeError(f"no backend for config type {type(cfg).__name__}")
    return factory(cfg, checkpoint)


__all__ = ["BackendUnavailable", "EncoderBackend", "make_backend"]
