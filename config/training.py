"""Configuration of encoder training (``haad train encoder --config ...``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import StrictModel
from config.completions import CompletionSettings


def training_data(values: list[str], names: tuple[str, ...]) -> list[str]:
    """``datasets:`` entries checked: each one of the named training splits ``names``, or a user's
    clip-set ``.npz`` file (trained on whole: docs/training.md)."""
    wrong = [v for v in values if v not in names and not v.endswith(".npz")]
    if wrong:
        raise ValueError(f"unknown {wrong}: use {', '.join(names)} or paths to clip-set .npz files")
    return values


class WindowSettings(StrictModel):
    """How clips become windows; becomes the checkpoint's WindowSpec (models.preprocess)."""

    frames: int = Field(60, ge=8, le=512, description="Window length in frames.")
    fps: float = Field(20.0, gt=0, le=120, description="Frame rate windows are resampled to.")
    clip_stride: int = Field(30, ge=1, le=512, description="Stride between windows of a recorded clip.")
    root: Literal["first_frame", "per_frame"] = Field(
        "first_frame", description="Subtract HipCenter of the first frame, or of every frame."
    )
    scale: bool = Field(True, description="Divide by the window's median torso length.")
    facing: bool = Field(True, description="Rotate so the subject's left->right axis is +x at frame 0.")
    max_gap_s: float = Field(0.5, ge=0, le=10, description="Longest NaN gap bridged by interpolation.")
    short: Literal["retime", "pad"] = Field(
        "pad",
        description="A clip (or live segment) shorter than a window fills it re-timed (stretched) or "
        "padded (first and last pose held).",
    )


class EncoderSettings(StrictModel):
    dct_m: int = Field(10, ge=1, le=60, description="Low DCT frequencies fed to the GCN.")
    hidden: int = Field(128, ge=8, le=1024, description="Graph-conv feature width.")
    blocks: int = Field(4, ge=1, le=16, description="Residual blocks of two graph-conv layers.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout inside residual blocks.")
    normalize: bool = Field(True, description="Unit-length embeddings (scores of Eq. 6 in [0, 2]).")
    members: int = Field(
        1,
        ge=1,
        le=16,
        description="Encoders trained with seeds seed, seed+1, ...; their embeddings are concatenated "
        "(a seed ensemble, models.encoder.EncoderEnsemble).",
    )


class AugmentSettings(StrictModel):
    """Hand-crafted augmentations applied to every training window."""

    rotation_deg: float = Field(20.0, ge=0, le=180, description="Max random rotation about vertical.")
    tilt_deg: float = Field(
        0.0, ge=0, le=45, description="Max random pitch and roll (camera tilt) after the vertical rotation."
    )
    scale: float = Field(0.1, ge=0, lt=1, description="Random isotropic scale in [1-s, 1+s].")
    noise_std: float = Field(0.01, ge=0, le=1, description="Gaussian joint noise (torso units).")
    speed: float = Field(0.2, ge=0, lt=1, description="Random playback speed in [1-s, 1+s].")
    segment_scale: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="Random build: each body segment (torso, head, shoulders, hips, "
        "arms, legs; left/right alike) x [1-s, 1+s].",
    )
    short_crop_p: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Fraction of training windows that are a short_crop_s stretch re-timed to the "
        "window, as the worker's short scale crops them (edge/short_scale.py): the same category's "
        "positives at both scales.",
    )
    short_crop_s: float = Field(1.0, gt=0, le=10, description="Seconds of those short crops.")


class SensorAugSettings(StrictModel):
    """Training windows seen as another sensor would deliver them (models/sensor.py)."""

    name: Literal["mediapipe"] = Field("mediapipe", description="Sensor model in models/sensors/.")
    p: float = Field(0.5, ge=0, le=1, description="Fraction of training windows passed through it.")


class GenerativeAugSettings(StrictModel):
    """HumanMAC variants drawn from a cached augmentation bank (Algorithm 1)."""

    model: str = Field("models/weights/humanmac.safetensors", description="HumanMAC checkpoint.")
    n_g: int = Field(
        1,
        ge=1,
        le=20,
        description="Variants per training window in a batch (N_g), drawn from the bank's; with predicted "
        "ends 1 beat 3 and more wherever both were measured, with in-betweens 1 and 3 tie.",
    )
    bank: CompletionSettings = Field(
        default_factory=CompletionSettings,
        description="What the bank holds: bank.n_g completions of every bank window (N_g draws from them).",
    )
    bank_stride: int = Field(15, ge=1, le=120, description="Stride of the windows that get variants.")
    filter_encoder: str | None = Field(
        None,
        description="Keep only the variants this encoder checkpoint places nearest to their own "
        "category's centroid of real training windows (others fall back to the real window); "
        "null keeps every variant.",
    )
    cache_dir: str = Field(".cache/augbank", description="Where banks are cached between runs.")

    @model_validator(mode="after")
    def _draws_within_bank(self) -> GenerativeAugSettings:
        if self.n_g > self.bank.n_g:
            raise ValueError(f"n_g ({self.n_g}) exceeds the bank's {self.bank.n_g} variants per window")
        return self


class MacDiffAugSettings(StrictModel):
    """MacDiff's label-preserving augmentation (Sec. 3.4) as Algorithm 1's extended positives: each
    step, ``ratio`` times the batch's windows are one-step variants of its windows, with their labels."""

    model: str = Field("models/weights/macdiff.safetensors", description="MacDiff checkpoint.")
    t_s: int = Field(300, ge=1, le=999, description="Timestep the variants are denoised from (paper: 500).")
    ratio: float = Field(0.5, gt=0, le=4, description="Augment-to-real ratio λ (paper: 0.25-2).")


class EncoderTrainConfig(StrictModel):
    seed: int = Field(0, description="Seeds data order, augmentation and initialisation.")
    datasets: list[str] = Field(
        ["kinder-gator"],
        min_length=1,
        description="Train splits used (minus unseen categories), or clip-set .npz files (all labelled clips).",
    )
    data_root: str | None = Field(None, description="Dataset folder (default: HAAD_DATA or ../shared/data).")
    train_subjects: list[str] | None = Field(
        None,
        min_length=1,
        description="Train on only these of the datasets' training subjects (a data-budget study); "
        "null = all of them.",
    )
    window: WindowSettings = WindowSettings()
    encoder: EncoderSettings = EncoderSettings()
    augment: AugmentSettings = AugmentSettings()
    sensor: SensorAugSettings | None = Field(None, description="Sensor simulation of windows; off if null.")
    generative: GenerativeAugSettings | None = Field(None, description="HumanMAC augmentation; off if null.")
    macdiff_augment: MacDiffAugSettings | None = Field(
        None, description="MacDiff one-step-denoising augmentation; off if null."
    )
    train_stride: int = Field(5, ge=1, le=120, description="Stride of training windows within clips.")
    steps: int = Field(1500, ge=1, le=1_000_000, description="Optimiser steps.")
    per_category: int = Field(2, ge=2, le=64, description="Windows per category in a batch (>= 2 clips).")
    temperature: float = Field(0.1, gt=0, le=10, description="τ in Eq. (5).")
    positives: Literal["sum", "mean"] = Field("mean", description="Sum (Eq. 5) or mean over positives.")
    lr: float = Field(1e-3, gt=0, le=1, description="Initial learning rate (Adam).")
    lr_final: float = Field(1e-5, gt=0, le=1, description="Learning rate reached linearly at the end.")
    weight_decay: float = Field(0.0, ge=0, le=1, description="Adam weight decay.")
    threads: int = Field(2, ge=1, le=64, description="torch CPU threads (of each member's process).")
    member_processes: int = Field(
        2, ge=1, le=64, description="Ensemble members trained side by side, one process each."
    )
    eval_seeds: int = Field(10, ge=1, le=100, description="Support-set draws in the final evaluation.")
    out: str = Field(
        "runs/encoder/encoder.safetensors",
        description="Checkpoint path (not the bundled models/weights/: a config meant to replace it says so).",
    )

    @field_validator("datasets")
    @classmethod
    def _known_data(cls, values: list[str]) -> list[str]:
        return training_data(values, ("kinder-gator", "msr", "nw-ucla"))
