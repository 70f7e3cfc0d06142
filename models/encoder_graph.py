"""The encoder's eval-mode function as plain matrix products: the module exported to ONNX.

:class:`models.encoder.ActionEncoder` is written for training (batch norm with running statistics,
an einsum for the DCT, reshapes sized from the input). Exported as it is, every one of them becomes
graph arithmetic that ONNX Runtime repeats per call (460 nodes for the bundled two-member encoder).
Here batch norm is folded into a scale and shift per (joint, feature), the DCT is one MatMul and
the reshapes need no size arithmetic but the batch: 137 nodes, the same embeddings (to float rounding),
and about 10 % less CPU per row in the worker's runs of 32 rows
(docs/experiments/2026-12-05-worker-speed-2.md).
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from models.encoder import ActionEncoder, Encoder, GCBlock, GraphConv


def _folded(bn: nn.Module, joints: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch norm over ``joints x features`` in eval mode as a scale and shift ``(J, F)`` (the
    encoder's graph convolutions have no bias)."""
    assert isinstance(bn, nn.BatchNorm1d) and bn.running_mean is not None and bn.running_var is not None
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.detach().double() - bn.running_mean.double() * scale
    return scale.reshape(joints, -1).float(), shift.reshape(joints, -1).float()


class MemberGraph(nn.Module):
    """One :class:`ActionEncoder` in eval mode (no dropout, batch norm folded)."""

    dct: torch.Tensor

    def __init__(self, member: ActionEncoder) -> None:
        super().__init__()
        c = member.config
        self.joints, self.dct_m, self.normalize = c.joints, c.dct_m, c.normalize
        self.register_buffer("dct", cast(torch.Tensor, member.dct_basis).detach().clone())  # (M, F)
        pairs: list[tuple[nn.Module, nn.Module]] = [(member.gc_in, member.bn_in)]
        for block in member.blocks:
            assert isinstance(block, GCBlock)
            pairs += [(block.gc1, block.bn1), (block.gc2, block.bn2)]
        self.blocks = len(member.blocks)
        for i, (gc, bn) in enumerate(pairs):
            assert isinstance(gc, GraphConv) and gc.bias is None
            scale, shift = _folded(bn, c.joints)
            self.register_buffer(f"w{i}", gc.weight.detach().clone())
            self.register_buffer(f"a{i}", gc.adjacency.detach().clone())
            self.register_buffer(f"s{i}", scale)
            self.register_buffer(f"t{i}", shift)

    def _layer(self, h: torch.Tensor, i: int) -> torch.Tensor:
        y = torch.matmul(getattr(self, f"a{i}"), torch.matmul(h, getattr(self, f"w{i}")))
        return torch.tanh(y * getattr(self, f"s{i}") + getattr(self, f"t{i}"))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        j, m, frames = self.joints, self.dct_m, windows.shape[1]
        coeffs = torch.matmul(self.dct, windows.reshape(-1, frames, j * 3)).reshape(-1, m, j, 3)
        h = self._layer(coeffs.permute(0, 2, 1, 3).reshape(-1, j, m * 3), 0)  # frequency-major, as trained
        for k in range(1, 2 * self.blocks, 2):  # a block: two layers and the skip connection
            h = h + self._layer(self._layer(h, k), k + 1)
        z = h.amax(dim=1)
        return nn.functional.normalize(z, dim=1) if self.normalize else z


class EncoderGraph(nn.Module):
    """An encoder (one member or an ensemble) as :class:`MemberGraph` s, joined as the ensemble does."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        members = [encoder] if isinstance(encoder, ActionEncoder) else list(encoder.members)
        self.members = nn.ModuleList(MemberGraph(cast(ActionEncoder, m)) for m in members)
        self.eval()

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        if len(self.members) == 1:
            return self.members[0](windows)  # type: ignore[no-any-return]
        z = torch.cat([m(windows) for m in self.members], dim=1)
        return z / math.sqrt(len(self.members))
