"""Skeleton patches (Sec. 3.2): a window ``(B, F, J, 3)`` as ``T_p · J`` tokens of ``l`` frames of one joint.

Token ``n = p · J + j`` holds joint ``j`` over frames ``p·l .. p·l + l - 1`` (temporal patch ``p``), its
``l·3`` coordinates flattened frame-major. Random masking keeps ``K = ceil((1 - r) · T_p · J)`` tokens
of every window, drawn independently per window.
"""

from __future__ import annotations

import math

import torch


def patchify(windows: torch.Tensor, patch: int) -> torch.Tensor:
    """``(B, F, J, 3)`` -> ``(B, T_p·J, l·3)`` with ``T_p = F / l``."""
    b, f, j, c = windows.shape
    if f % patch:
        raise ValueError(f"{f} frames do not split into patches of {patch}")
    x = windows.reshape(b, f // patch, patch, j, c).permute(0, 1, 3, 2, 4)  # (B, T_p, J, l, 3)
    return x.reshape(b, (f // patch) * j, patch * c)


def unpatchify(tokens: torch.Tensor, patch: int, joints: int) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, T_p·J, l·3)`` -> ``(B, T_p·l, J, 3)``."""
    b, n, _ = tokens.shape
    tp = n // joints
    x = tokens.reshape(b, tp, joints, patch, 3).permute(0, 1, 3, 2, 4)  # (B, T_p, l, J, 3)
    return x.reshape(b, tp * patch, joints, 3)


def kept_tokens(tokens: int, ratio: float) -> int:
    """Tokens left visible by masking ratio ``ratio`` (at least one)."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"masking ratio must be in [0, 1); got {ratio}")
    return max(1, math.ceil((1.0 - ratio) * tokens))


def random_keep(
    batch: int, tokens: int, ratio: float, *, generator: torch.Generator | None = None,
    allowed: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
    """``(B, K)`` sorted indices of the tokens each window keeps, uniformly at random.

    allowed: optional ``(B, N)`` bool; only these tokens may be kept (e.g. those fully observed), and
    ``K`` is the ratio's share of the fewest allowed in any window.
    """
    scores = torch.rand(batch, tokens, generator=generator)
    k = kept_tokens(tokens, ratio)
    if allowed is not None:
        fewest = int(allowed.sum(dim=1).min())
        if fewest == 0:
            raise ValueError("a window has no token to keep")
        k = min(kept_tokens(fewest, ratio), fewest)
        scores = scores + 2.0 * (~allowed)  # disallowed tokens sort after every allowed one
    return scores.argsort(dim=1)[:, :k].sort(dim=1).values
