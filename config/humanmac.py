"""Configuration of HumanMAC training (``haad train humanmac --config ...``)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from config.base import StrictModel
from config.training import WindowSettings, training_data


class DenoiserSettings(StrictModel):
    """Size of the noise-prediction Transformer (models.humanmac.network.DenoiserConfig)."""

    tokens: int = Field(20, ge=1, le=512, description="DCT frequencies kept, one token each (paper: 20).")
    width: int = Field(96, ge=8, le=1024, description="Token width.")
    depth: int = Field(4, ge=1, le=16, description="Transformer blocks (paper: 8).")
    heads: int = Field(4, ge=1, le=32, description="Attention heads; must divide width.")
    mlp_ratio: float = Field(2.0, gt=0, le=8, description="Feed-forward width / token width.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout in attention and feed-forward.")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> DenoiserSettings:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        return self


class DiffusionSettings(StrictModel):
    """Noise schedule (models.humanmac.scheduler.SchedulerConfig)."""

    train_timesteps: int = Field(1000, ge=2, le=10_000, description="Diffusion steps T (paper: 1000).")
    cosine_s: float = Field(0.008, gt=0, le=0.5, description="Offset s of the cosine schedule.")


class HumanMACTrainConfig(StrictModel):
    seed: int = Field(0, description="Seeds initialisation, batch order, timesteps and noise.")
    datasets: list[str] = Field(
        ["kinder-gator"],
        min_length=1,
        description="Train splits used (train subjects, seen categories only; or clip-set .npz files, whole).",
    )
    data_root: str | None = Field(None, description="Dataset folder (default: HAAD_DATA or ../shared/data).")
    window: WindowSettings = Field(
        default_factory=WindowSettings, description="Must match the encoder's windows."
    )
    train_stride: int = Field(
        5, ge=1, le=512, description="Stride in frames of training windows within clips."
    )
    mirror: bool = Field(True, description="Also train on left/right mirrored windows.")
    denoiser: DenoiserSettings = Field(default_factory=DenoiserSettings, description="Network size.")
    diffusion: DiffusionSettings = Field(default_factory=DiffusionSettings, description="Noise schedule.")
    steps: int = Field(24_000, ge=1, le=10_000_000, description="Optimiser steps.")
    batch_size: int = Field(64, ge=1, le=4096, description="Windows per step.")
    lr: float = Field(5e-4, gt=0, le=1, description="Peak learning rate (Adam).")
    lr_final: float = Field(5e-5, gt=0, le=1, description="Learning rate at the end of the cosine decay.")
    warmup_steps: int = Field(500, ge=0, le=1_000_000, description="Linear learning-rate warm-up.")
    weight_decay: float = Field(0.0, ge=0, le=1, description="Adam weight decay.")
    grad_clip: float = Field(1.0, gt=0, le=1000, description="Gradient norm clip.")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="EMA decay of the saved weights.")
    threads: int = Field(1, ge=1, le=64, description="torch CPU threads (1 leaves a core to others).")
    out: str = Field(
        "runs/humanmac/humanmac.safetensors",
        description="Checkpoint path (not the bundled models/weights/: a config meant to replace it says so).",
    )

    @model_validator(mode="after")
    def _tokens_fit_window(self) -> HumanMACTrainConfig:
        if self.denoiser.tokens > self.window.frames:
            raise ValueError(f"denoiser.tokens {self.denoiser.tokens} > window.frames {self.window.frames}")
        return self

    @field_validator("datasets")
    @classmethod
    def _known_data(cls, values: list[str]) -> list[str]:
        return training_data(values, ("kinder-gator", "msr"))
