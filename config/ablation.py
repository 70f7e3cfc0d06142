"""Configuration of ``haad train ablation`` (evaluation/ablation.py)."""

from __future__ import annotations

from pydantic import Field

from config.base import StrictModel
from config.completions import CompletionSettings


class AblationConfig(StrictModel):
    encoder_config: str = Field(
        "training/configs/encoder.yaml", description="Encoder training config every cell starts from."
    )
    steps: int | None = Field(
        1500, ge=1, le=1_000_000, description="Training steps of every cell (None = the encoder config's)."
    )
    humanmac: str = Field("models/weights/humanmac.safetensors", description="HumanMAC checkpoint.")
    train_n_g: list[int] = Field([1, 3, 5, 10], min_length=1, description="N_g values at training (Fig. 7).")
    table3_n_g: int = Field(3, ge=1, le=50, description="N_g of the training-aug encoder in Tables 3 and 4.")
    bank: CompletionSettings = Field(
        default_factory=CompletionSettings,
        description="Training-time completions (the bank holds max(train_n_g) of them per window).",
    )
    filter_encoder: str | None = Field(
        None, description="Consistency filter of training-time variants (see GenerativeAugSettings)."
    )
    support: CompletionSettings = Field(
        default_factory=CompletionSettings,
        description="Inference-time completions of every support window (Table 3; Table 4 varies O).",
    )
    observed: list[int] = Field([50, 30, 10], min_length=1, description="O values of Table 4.")
    dataset: str = Field("kinder-gator", description="Benchmark dataset evaluated.")
    shots: int = Field(3, ge=1, le=20, description="Support clips per category (N_s).")
    seeds: int = Field(10, ge=1, le=100, description="Support-set draws per category.")
    cache_dir: str = Field(".cache/augbank", description="Augmentation banks (shared by every cell).")
    reuse_encoders: bool = Field(
        True, description="Skip training a cell whose checkpoint exists, trained with the same settings."
    )
