"""Windows <-> the normalised DCT coefficients HumanMAC diffuses over.

``x = (T_K X - μ) / s``: the K lowest DCT frequencies of a window ``X`` ``(F, J·3)``, minus their
training-set mean ``μ`` ``(K, J·3)``, divided by one scalar ``s`` (their overall standard deviation),
so the data has about unit variance like the noise. The map is affine with a single scale, so the
time-domain fusion of Eq. (4) commutes with it, and noise added in ``x`` stays isotropic.
μ and s are buffers: they travel with the checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from models.dct import dct_matrix


class MotionCodec(nn.Module):
    """Encode ``(B, F, J, 3)`` windows to ``(B, K, J·3)`` coefficients and decode them back."""

    basis: torch.Tensor
    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, frames: int, joints: int, tokens: int) -> None:
        super().__init__()
        if not 1 <= tokens <= frames:
            raise ValueError(f"DCT tokens must be in 1..{frames}; got {tokens}")
        self.frames, self.joints, self.tokens = frames, joints, tokens
        self.register_buffer(
            "basis", torch.tensor(dct_matrix(frames)[:tokens], dtype=torch.float32)
        )  # (K, F)
        self.register_buffer("mean", torch.zeros(tokens, joints * 3))
        self.register_buffer("scale", torch.ones(()))

    @torch.no_grad()
    def fit(self, windows: np.ndarray) -> MotionCodec:
        """Set μ and s from training windows ``(N, F, J, 3)``."""
        coeffs = self.coefficients(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
        self.mean.copy_(coeffs.mean(dim=0))
        self.scale.copy_((coeffs - self.mean).std().clamp(min=1e-6))
        return self

    def coefficients(self, windows: torch.Tensor) -> torch.Tensor:
        """Un-normalised low-frequency DCT ``T_K X``: ``(B, F, J, 3)`` -> ``(B, K, J·3)``."""
        b, f, j, c = windows.shape
        if (f, j) != (self.frames, self.joints):
            raise ValueError(
                f"expected windows (B, {self.frames}, {self.joints}, 3); got {tuple(windows.shape)}"
            )
        return self.basis @ windows.reshape(b, f, j * c)

    def encode(self, windows: torch.Tensor) -> torch.Tensor:
        """``(B, F, J, 3)`` windows -> ``(B, K, J·3)`` normalised coefficients."""
        return (self.coefficients(windows) - self.mean) / self.scale

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K, J·3)`` normalised coefficients -> ``(B, F, J, 3)`` windows (iDCT of K frequencies)."""
        b = x.shape[0]
        return (self.basis.T @ (x * self.scale + self.mean)).reshape(b, self.frames, self.joints, 3)
