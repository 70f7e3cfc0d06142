"""The HumanMAC noise predictor ε_θ(C_t, t) (Eq. 3): a Transformer over DCT coefficients.

Each of the K kept DCT frequencies is one token whose features are that frequency's coefficient for
every joint coordinate (``D = J·3``). The timestep enters every block through adaptive layer norm
(shift, scale and a gate regressed from the timestep embedding; the gates start at zero so every
block starts as the identity, as in DiT's adaLN-Zero). The network knows nothing about noise
schedules, masks or the time domain: those live in ``scheduler.py`` and ``sampler.py``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class DenoiserConfig:
    """Architecture of :class:`MotionDenoiser` (stored with its weights).

    tokens: kept DCT frequencies K (paper: 20). features: coefficients per token, J·3 (60).
    width: token width. depth: Transformer blocks (paper: 8). heads: attention heads.
    mlp_ratio: feed-forward width / token width. dropout: inside attention and feed-forward.
    """

    tokens: int = 20
    features: int = 60
    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DenoiserConfig:
        return cls(**d)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps ``(B,)`` -> ``(B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return emb if dim % 2 == 0 else torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``(B, K, W)`` tokens, ``(B, W)`` shift and scale -> adaptively normalised tokens."""
    return x * (1.0 + scale[:, None]) + shift[:, None]


class AdaLNBlock(nn.Module):
    """Pre-norm self-attention and feed-forward, each modulated and gated by the timestep."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, width)
        )
        ada = nn.Linear(width, 6 * width)
        nn.init.zeros_(ada.weight)
        nn.init.zeros_(ada.bias)
        self.ada = nn.Sequential(nn.SiLU(), ada)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """``(B, K, W)`` tokens, ``(B, W)`` timestep embedding -> ``(B, K, W)``."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(emb).chunk(6, dim=1)
        h = modulate(self.norm1(x), shift1, scale1)
        x = x + gate1[:, None] * self.attn(h, h, h, need_weights=False)[0]
        h = modulate(self.norm2(x), shift2, scale2)
        return x + gate2[:, None] * self.mlp(h)


class MotionDenoiser(nn.Module):
    """ε_θ: noisy normalised DCT coefficients and timesteps -> predicted noise, same shape."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Linear(c.features, c.width)
        self.position = nn.Parameter(torch.zeros(1, c.tokens, c.width))
        nn.init.normal_(self.position, std=0.02)
        self.time_mlp = nn.Sequential(nn.Linear(c.width, c.width), nn.SiLU(), nn.Linear(c.width, c.width))
        self.blocks = nn.ModuleList(
            AdaLNBlock(c.width, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.depth)
        )
        self.norm_out = nn.LayerNorm(c.width, elementwise_affine=False, eps=1e-6)
        ada_out = nn.Linear(c.width, 2 * c.width)
        self.head = nn.Linear(c.width, c.features)
        for layer in (ada_out, self.head):  # start by predicting zero noise
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.ada_out = nn.Sequential(nn.SiLU(), ada_out)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, K, D)`` noisy coefficients at timesteps ``t`` ``(B,)`` -> ε̂ ``(B, K, D)``."""
        b, k, d = x.shape
        if (k, d) != (self.config.tokens, self.config.features):
            raise ValueError(
                f"expected (B, {self.config.tokens}, {self.config.features}); got {tuple(x.shape)}"
            )
        emb = self.time_mlp(timestep_embedding(t, self.config.width))  # (B, W)
        h = self.embed(x) + self.position  # (B, K, W)
        for block in self.blocks:
            h = block(h, emb)
        shift, scale = self.ada_out(emb).chunk(2, dim=1)
        return self.head(modulate(self.norm_out(h), shift, scale))
