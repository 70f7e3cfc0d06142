"""Which inference backend runs the action encoder, and its options (edge/backends).

One model per backend, told apart by ``type``; ``BackendConfig`` is their discriminated union.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.base import StrictModel, UserPath

GraphOptimization = Literal["disable", "basic", "extended", "all"]
Precision = Literal["fp32", "int8"]


class OnnxRuntimeConfig(StrictModel):
    """ONNX Runtime on the CPU (the default): the encoder exported once to ONNX, cached by checkpoint hash."""

    type: Literal["onnxruntime"] = "onnxruntime"
    intra_op_threads: int = Field(
        default=1,
        ge=0,
        le=256,
        description=(
            "Threads inside one encoder call; 0 = ONNX Runtime's default (one per physical core). "
            "1 measured fastest on the 2-core reference host, where other processes share the cores."
        ),
    )
    rows_per_run: int = Field(
        default=32,
        ge=1,
        le=8192,
        description=(
            "Most windows per ONNX Runtime run; a larger batch (the worker's windows and their crops) is "
            "split into runs of this many. Embeddings do not depend on it (fp32). On the reference host a "
            "window cost about 20 % more in runs of 128 than of 32-48: the activations outgrow the core's cache."
        ),
    )
    allow_spinning: bool = Field(
        default=False,
        description="Let idle intra-op threads busy-wait (lower latency on a dedicated host, wasted CPU on a shared one).",
    )
    graph_optimization: GraphOptimization = Field(
        default="all", description="ONNX Runtime graph optimisation level applied when the session is built."
    )
    cache_dir: UserPath = Field(
        default=".cache/onnx", description="Where exported .onnx files are kept (keyed by checkpoint sha256)."
    )
    precision: Precision = Field(
        default="fp32",
        description="int8: the graph with dynamically quantised weights (about twice as fast on one "
        "thread; haad eval fewshot --onnx int8 within 0.001 AUC of fp32 on every dataset), but a "
        "window's embedding then depends on the others in its batch (activation ranges per batch).",
    )


class TensorRTConfig(StrictModel):
    """NVIDIA TensorRT through ONNX Runtime's TensorRT execution provider (CUDA hosts only)."""

    type: Literal["tensorrt"] = "tensorrt"
    device_id: int = Field(default=0, ge=0, le=63, description="CUDA device index.")
    fp16: bool = Field(
        default=True,
        description="Let TensorRT pick fp16 kernels (embeddings then differ from fp32 by ~1e-3).",
    )
    engine_cache_dir: UserPath = Field(
        default=".cache/tensorrt",
        description="Where built TensorRT engines are cached (building one takes minutes).",
    )
    onnx_cache_dir: UserPath = Field(
        default=".cache/onnx", description="Where the exported .onnx the engine is built from is kept."
    )
    max_batch: int = Field(
        default=256, ge=1, le=8192, description="Largest batch the engine's optimisation profile accepts."
    )
    opt_batch: int = Field(
        default=64, ge=1, le=8192, description="Batch size TensorRT tunes its kernels for."
    )
    workspace_mb: int = Field(
        default=2048, ge=64, le=65536, description="TensorRT builder workspace limit (MiB)."
    )

    @model_validator(mode="after")
    def _opt_within_max(self) -> TensorRTConfig:
        if self.opt_batch > self.max_batch:
            raise ValueError(f"opt_batch ({self.opt_batch}) must not exceed max_batch ({self.max_batch})")
        return self


class TorchConfig(StrictModel):
    """PyTorch eager mode: the reference implementation (slowest on CPU, no export step)."""

    type: Literal["torch"] = "torch"
    device: Literal["cpu", "cuda"] = Field(default="cpu", description="Where the encoder runs.")
    device_id: int = Field(default=0, ge=0, le=63, description="CUDA device index when device is cuda.")
    threads: int = Field(
        default=1,
        ge=0,
        le=256,
        description=(
            "torch.set_num_threads for the process (0 leaves PyTorch's default). 1 by default: with two "
            "threads on the shared 2-core reference host eager inference ran ~40x slower."
        ),
    )


BackendConfig = Annotated[OnnxRuntimeConfig | TensorRTConfig | TorchConfig, Field(discriminator="type")]
