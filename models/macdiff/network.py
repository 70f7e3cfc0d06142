"""MacDiff's two networks (Sec. 3.2): a semantic encoder over masked patches and a diffusion decoder
conditioned on its representation through AdaLN (Eq. 4).

Both are pre-norm Transformers over the ``T_p · J`` patch tokens (``patches.py``) with learned spatial
and temporal position embeddings. The encoder sees only the kept tokens; its output ``z_local`` is
pooled into ``z_global`` and the condition ``z`` is ``z_local`` at the kept positions and ``z_global``
everywhere else (Sec. 3.3, local/global filling). The decoder predicts the noise in ``x_t``; every
layer norm is ``z_s · (t_s · LN(h) + t_b) + z_b`` with ``(t_s, t_b)`` from the timestep and
``(z_s, z_b)`` from ``z`` (per token). With probability ``cond_dropout`` a window's ``z`` is replaced
by a learned null condition while training, which also gives an unconditional model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from models.humanmac.network import timestep_embedding
from models.macdiff.patches import patchify, unpatchify


@dataclass(frozen=True)
class MacDiffConfig:
    """Architecture of both networks (stored with the weights).

    frames, joints: window shape. patch: frames per temporal patch l (paper: 4 of 120 frames).
    width: token width C (paper: 256). encoder_depth / decoder_depth: Transformer blocks.
    heads: attention heads. mlp_ratio: feed-forward width / C. mask_ratio: r (paper: 0.9).
    cond_dropout: probability that a training window's condition is dropped (paper: 0.1).
    """

    frames: int = 60
    joints: int = 20
    patch: int = 6
    width: int = 64
    encoder_depth: int = 3
    decoder_depth: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    mask_ratio: float = 0.9
    cond_dropout: float = 0.1

    @property
    def temporal_patches(self) -> int:
        return self.frames // self.patch

    @property
    def tokens(self) -> int:
        return self.temporal_patches * self.joints

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MacDiffConfig:
        return cls(**d)


class PatchEmbedding(nn.Module):
    """Windows ``(B, F, J, 3)`` -> tokens ``(B, T_p·J, C)`` with spatial + temporal positions."""

    def __init__(self, c: MacDiffConfig) -> None:
        super().__init__()
        if c.frames % c.patch:
            raise ValueError(f"patch {c.patch} does not divide {c.frames} frames")
        self.patch = c.patch
        self.linear = nn.Linear(c.patch * 3, c.width)
        self.spatial = nn.Parameter(torch.randn(1, 1, c.joints, c.width) * 0.02)
        self.temporal = nn.Parameter(torch.randn(1, c.temporal_patches, 1, c.width) * 0.02)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        pos = (self.spatial + self.temporal).flatten(1, 2)  # (1, T_p·J, C), token n = p·J + j
        return self.linear(patchify(windows, self.patch)) + pos


class SemanticEncoder(nn.Module):
    """E: the kept tokens of a window -> ``z_local`` ``(B, K, C)``; pooled, the representation."""

    def __init__(self, c: MacDiffConfig) -> None:
        super().__init__()
        self.embed = PatchEmbedding(c)
        layer = nn.TransformerEncoderLayer(
            c.width, c.heads, int(c.width * c.mlp_ratio), dropout=0.0, activation="gelu",
            batch_first=True, norm_first=True,
        )  # fmt: skip
        self.blocks = nn.TransformerEncoder(layer, c.encoder_depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.width)

    def forward(self, windows: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``(B, F, J, 3)`` normalised windows, ``(B, K)`` kept token indices -> ``(B, K, C)``."""
        tokens = self.embed(windows)
        kept = tokens.gather(1, keep[..., None].expand(-1, -1, tokens.shape[-1]))
        return self.norm(self.blocks(kept))


def fill_condition(z_local: torch.Tensor, keep: torch.Tensor, tokens: int) -> torch.Tensor:
    """Sec. 3.3: ``z`` ``(B, N, C)``: each kept token's own output, every masked one the global mean."""
    z_global = z_local.mean(dim=1, keepdim=True)  # (B, 1, C)
    z = z_global.expand(-1, tokens, -1).clone()
    return z.scatter(1, keep[..., None].expand(-1, -1, z.shape[-1]), z_local)


class AdaLN(nn.Module):
    """Eq. (4): ``z_s · (t_s · LN(h) + t_b) + z_b``, each factor starting at the identity."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.from_t = nn.Linear(width, 2 * width)
        self.from_z = nn.Linear(width, 2 * width)
        for layer in (self.from_t, self.from_z):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor, t_emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``(B, N, C)`` hidden, ``(B, C)`` timestep embedding, ``(B, N, C)`` condition."""
        t_s, t_b = self.from_t(t_emb)[:, None].chunk(2, dim=-1)
        z_s, z_b = self.from_z(z).chunk(2, dim=-1)
        return (1 + z_s) * ((1 + t_s) * self.norm(h) + t_b) + z_b


class DecoderBlock(nn.Module):
    """Self-attention and feed-forward, each after an AdaLN, each residual branch gated by the
    timestep (gates start at zero: every block starts as the identity)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = AdaLN(width), AdaLN(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.gates = nn.Linear(width, 2 * width)
        nn.init.zeros_(self.gates.weight)
        nn.init.zeros_(self.gates.bias)

    def forward(self, h: torch.Tensor, t_emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        g1, g2 = self.gates(t_emb)[:, None].chunk(2, dim=-1)
        a = self.norm1(h, t_emb, z)
        h = h + g1 * self.attn(a, a, a, need_weights=False)[0]
        return h + g2 * self.mlp(self.norm2(h, t_emb, z))


class ConditionalDecoder(nn.Module):
    """D = ε_θ(x_t, t, z): noisy normalised windows -> predicted noise, same shape."""

    def __init__(self, c: MacDiffConfig) -> None:
        super().__init__()
        self.config = c
        self.embed = PatchEmbedding(c)
        self.time_mlp = nn.Sequential(nn.Linear(c.width, c.width), nn.SiLU(), nn.Linear(c.width, c.width))
        self.blocks = nn.ModuleList(
            DecoderBlock(c.width, c.heads, c.mlp_ratio) for _ in range(c.decoder_depth)
        )
        self.norm_out = AdaLN(c.width)
        self.head = nn.Linear(c.width, c.patch * 3)
        nn.init.zeros_(self.head.weight)  # starts by predicting zero noise
        nn.init.zeros_(self.head.bias)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``(B, F, J, 3)`` noisy windows, ``(B,)`` timesteps, ``(B, N, C)`` condition -> ε̂ ``(B, F, J, 3)``."""
        c = self.config
        t_emb = self.time_mlp(timestep_embedding(t, c.width))
        h = self.embed(x_t)
        for block in self.blocks:
            h = block(h, t_emb, z)
        return unpatchify(self.head(self.norm_out(h, t_emb, z)), c.patch, c.joints)


class MacDiffNetwork(nn.Module):
    """Encoder + decoder + the learned null condition, as trained and saved together."""

    def __init__(self, config: MacDiffConfig) -> None:
        super().__init__()
        if config.width % config.heads:
            raise ValueError(f"width {config.width} is not divisible by heads {config.heads}")
        self.config = config
        self.encoder = SemanticEncoder(config)
        self.decoder = ConditionalDecoder(config)
        self.null = nn.Parameter(torch.zeros(1, 1, config.width))

    def condition(self, windows: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``z`` ``(B, N, C)`` of windows ``(B, F, J, 3)`` from their kept tokens ``(B, K)``."""
        return fill_condition(self.encoder(windows, keep), keep, self.config.tokens)

    def drop_condition(
        self, z: torch.Tensor, p: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``z`` with each window's condition replaced by the null one with probability ``p``."""
        dropped = torch.rand(z.shape[0], generator=generator) < p
        return torch.where(dropped[:, None, None], self.null.expand_as(z), z)

    def representation(self, windows: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Pooled ``z_global`` ``(B, C)``: what downstream tasks use."""
        return self.encoder(windows, keep).mean(dim=1)
