"""The action encoder: DCT over time -> residual graph-conv network -> pooled embedding.

Input is a batch of normalised windows ``(B, F, J, 3)`` (see models.preprocess); the DCT is a fixed
buffer inside the module, so exported graphs (ONNX, TensorRT) take raw windows too.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.checkpoint import load_state, save_checkpoint
from models.dct import dct_matrix
from models.embedding import EmbedFn
from models.encoder_config import DEFAULT_ENCODER_PATH, KIND, EncoderConfig, read_encoder_metadata
from models.preprocess import WindowSpec

__all__ = [
    "DEFAULT_ENCODER_PATH",
    "KIND",
    "ActionEncoder",
    "Encoder",
    "EncoderConfig",
    "EncoderEnsemble",
    "build_encoder",
    "encoder_embed_fn",
    "load_encoder",
    "member_config",
    "save_encoder",
]


class GraphConv(nn.Module):
    """``y = A x W + b`` with a learnable, dense J×J adjacency ``A`` (Eq. 1 without σ)."""

    def __init__(self, in_features: int, out_features: int, joints: int, bias: bool = True) -> None:
        super().__init__()
        stdv = 1.0 / math.sqrt(out_features)
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-stdv, stdv))
        self.adjacency = nn.Parameter(torch.empty(joints, joints).uniform_(-stdv, stdv))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-stdv, stdv)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.adjacency @ (x @ self.weight)  # (B, J, out)
        return y if self.bias is None else y + self.bias


class GCBlock(nn.Module):
    """Two (graph conv, batch norm over J·F, tanh, dropout) steps with a skip connection."""

    def __init__(self, features: int, joints: int, dropout: float) -> None:
        super().__init__()
        self.gc1 = GraphConv(features, features, joints, bias=False)
        self.bn1 = nn.BatchNorm1d(joints * features)
        self.gc2 = GraphConv(features, features, joints, bias=False)
        self.bn2 = nn.BatchNorm1d(joints * features)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, j, f = x.shape
        y = self.drop(torch.tanh(self.bn1(self.gc1(x).reshape(b, j * f)).reshape(b, j, f)))
        y = self.drop(torch.tanh(self.bn2(self.gc2(y).reshape(b, j * f)).reshape(b, j, f)))
        return x + y


class ActionEncoder(nn.Module):
    """One encoder (``config.members`` must be 1; :func:`build_encoder` picks the class)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        if config.members != 1:
            raise ValueError(f"ActionEncoder is one member; got members={config.members}")
        self.config = config
        c = config
        basis = torch.tensor(dct_matrix(c.frames)[: c.dct_m], dtype=torch.float32)
        self.register_buffer("dct_basis", basis)  # (M, F)
        in_features = 3 * c.dct_m
        self.gc_in = GraphConv(in_features, c.hidden, c.joints, bias=False)
        self.bn_in = nn.BatchNorm1d(c.joints * c.hidden)
        self.blocks = nn.Sequential(*(GCBlock(c.hidden, c.joints, c.dropout) for _ in range(c.blocks)))

    def dct_features(self, windows: torch.Tensor) -> torch.Tensor:
        """``(B, F, J, 3)`` windows -> ``(B, J, 3·M)`` per-joint DCT coefficients (frequency-major)."""
        b, f, j, _ = windows.shape
        coeffs = torch.einsum("mf,bfjc->bjmc", self.dct_basis, windows)  # (B, J, M, 3)
        return coeffs.reshape(b, j, -1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """``(B, F, J, 3)`` normalised windows -> ``(B, embedding_dim)`` embeddings."""
        x = self.dct_features(windows)
        b, j, _ = x.shape
        h = self.gc_in(x)
        h = torch.tanh(self.bn_in(h.reshape(b, -1)).reshape(b, j, -1))
        h = self.blocks(h)  # (B, J, hidden)
        z = h.amax(dim=1)  # pool over joints -> (B, hidden)
        return nn.functional.normalize(z, dim=1) if self.config.normalize else z


class EncoderEnsemble(nn.Module):
    """``members`` encoders of one architecture, trained with different seeds; a window's embedding
    is theirs concatenated and divided by √members.

    Unit-length member embeddings stay unit-length together, and the squared distance of Eq. (6)
    becomes the members' mean squared distance: their seed-to-seed errors average out
    (docs/experiments/2026-11-29-seed-ensembles.md).
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        if config.members < 2:
            raise ValueError(f"an ensemble needs at least 2 members; got {config.members}")
        self.config = config
        self.members = nn.ModuleList(ActionEncoder(member_config(config)) for _ in range(config.members))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """``(B, F, J, 3)`` normalised windows -> ``(B, embedding_dim)`` embeddings."""
        z = torch.cat([m(windows) for m in self.members], dim=1)
        return z / math.sqrt(len(self.members))


Encoder = ActionEncoder | EncoderEnsemble


def member_config(config: EncoderConfig) -> EncoderConfig:
    """The architecture of one member of ``config``."""
    return replace(config, members=1)


def build_encoder(config: EncoderConfig) -> Encoder:
    """An untrained encoder for ``config``: one :class:`ActionEncoder`, or an ensemble of them."""
    return ActionEncoder(config) if config.members == 1 else EncoderEnsemble(config)


# --- persistence and use -------------------------------------------------------------------------


def save_encoder(path: Path, encoder: Encoder, spec: WindowSpec, metadata: dict[str, Any]) -> None:
    """Save weights + config + the window spec the encoder was trained with."""
    meta = {"encoder": encoder.config.to_dict(), "window": spec.to_dict(), **metadata}
    save_checkpoint(path, encoder, KIND, meta)


def load_encoder(path: Path | None = None) -> tuple[Encoder, WindowSpec, dict[str, Any]]:
    """Rebuild an encoder from its checkpoint alone (eval mode, CPU). Default: the bundled one."""
    path = Path(path) if path is not None else DEFAULT_ENCODER_PATH
    config, spec, meta = read_encoder_metadata(path)
    encoder = build_encoder(config)
    encoder.load_state_dict(load_state(path))
    encoder.eval()
    return encoder, spec, meta


def encoder_embed_fn(encoder: nn.Module) -> EmbedFn:
    """Windows ``(B, F, J, 3)`` -> embeddings ``(B, D)`` with a PyTorch encoder (inference mode)."""

    def encode(w: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return encoder(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))).numpy()

    return encode
