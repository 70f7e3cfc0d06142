"""Configuration of MacDiff pretraining (``haad train macdiff --config ...``)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from config.base import StrictModel
from config.humanmac import DiffusionSettings
from config.training import WindowSettings, training_data


class MacDiffNetworkSettings(StrictModel):
    """Size of both networks (models.macdiff.network.MacDiffConfig)."""

    patch: int = Field(6, ge=1, le=120, description="Frames per temporal patch l; must divide window.frames.")
    width: int = Field(64, ge=8, le=1024, description="Token width C (paper: 256).")
    encoder_depth: int = Field(3, ge=1, le=16, description="Encoder Transformer blocks.")
    decoder_depth: int = Field(3, ge=1, le=16, description="Decoder Transformer blocks.")
    heads: int = Field(4, ge=1, le=32, description="Attention heads; must divide width.")
    mlp_ratio: float = Field(2.0, gt=0, le=8, description="Feed-forward width / token width.")
    mask_ratio: float = Field(
        0.9, ge=0, lt=1, description="Share of tokens hidden from the encoder (paper: 0.9)."
    )
    cond_dropout: float = Field(0.1, ge=0, le=1, description="Probability a window's condition is dropped.")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> MacDiffNetworkSettings:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        return self


class MacDiffTrainConfig(StrictModel):
    seed: int = Field(0, description="Seeds initialisation, batch order, masks, timesteps and noise.")
    datasets: list[str] = Field(
        ["kinder-gator", "msr", "nw-ucla"],
        min_length=1,
        description="Train splits used (train subjects, seen categories only; or clip-set .npz files, whole; labels are never read).",
    )
    data_root: str | None = Field(None, description="Dataset folder (default: HAAD_DATA or ../shared/data).")
    window: WindowSettings = Field(
        default_factory=WindowSettings, description="Must match the encoder's windows."
    )
    train_stride: int = Field(
        10, ge=1, le=512, description="Stride in frames of training windows within clips."
    )
    mirror: bool = Field(True, description="Also train on left/right mirrored windows.")
    encoder_noise: float = Field(
        0.005,
        ge=0,
        le=1,
        description="Gaussian noise on the encoder's input only (paper: 0.005; torso units).",
    )
    network: MacDiffNetworkSettings = Field(
        default_factory=MacDiffNetworkSettings, description="Network size."
    )
    diffusion: DiffusionSettings = Field(default_factory=DiffusionSettings, description="Noise schedule.")
    steps: int = Field(6000, ge=1, le=10_000_000, description="Optimiser steps.")
    batch_size: int = Field(32, ge=1, le=4096, description="Windows per step.")
    lr: float = Field(5e-4, gt=0, le=1, description="Peak learning rate (AdamW).")
    lr_final: float = Field(5e-5, gt=0, le=1, description="Learning rate at the end of the cosine decay.")
    warmup_steps: int = Field(300, ge=0, le=1_000_000, description="Linear learning-rate warm-up.")
    weight_decay: float = Field(0.01, ge=0, le=1, description="AdamW weight decay.")
    grad_clip: float = Field(1.0, gt=0, le=1000, description="Gradient norm clip.")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="EMA decay of the saved weights.")
    threads: int = Field(1, ge=1, le=64, description="torch CPU threads (1 leaves a core to others).")
    out: str = Field(
        "runs/macdiff/macdiff.safetensors",
        description="Checkpoint path (not the bundled models/weights/: a config meant to replace it says so).",
    )

    @model_validator(mode="after")
    def _patch_divides_window(self) -> MacDiffTrainConfig:
        if self.window.frames % self.network.patch:
            raise ValueError(
                f"network.patch {self.network.patch} does not divide window.frames {self.window.frames}"
            )
        return self

    @field_validator("datasets")
    @classmethod
    def _known_data(cls, values: list[str]) -> list[str]:
        return training_data(values, ("kinder-gator", "msr", "nw-ucla"))
