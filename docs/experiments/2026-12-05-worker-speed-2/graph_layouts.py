"""The bundled encoder's ONNX graph against two hand-arranged exports of the same function, CPU
microseconds per row on ONNX Runtime (one thread, the worker's session options), a 128-row batch run
in pieces of 32 rows (the worker's default) and of 128. Needs torch and onnx (the train extra).

* ``static (B, J, H)``: the bundled layout, but batch norm folded to a per (joint, feature) scale
  and shift, every reshape with constant sizes (no Shape/Gather/Concat arithmetic per call), the
  DCT as one MatMul: 202 nodes instead of 460.
* ``static (J, B, H)``: activations joint-major, so both products of a graph conv, ``X W`` and
  ``A (X W)``, are single 2-D GEMMs instead of a GEMM and a broadcast batch of 20x20 ones.

Each is checked against the PyTorch reference before it is timed.

    OMP_NUM_THREADS=1 python docs/experiments/2026-12-05-worker-speed-2/graph_layouts.py
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from edge.backends.onnx import session_options
from models.encoder import ActionEncoder, load_encoder
from models.preprocess import WindowSpec, clip_to_windows
from training.datasets import load_dataset

ROWS, ROUNDS, CALLS = 128, 5, 10


def _affine(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    assert bn.running_mean is not None and bn.running_var is not None
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return scale.float(), (bn.bias.detach().double() - bn.running_mean.double() * scale).float()


class Member(nn.Module):
    """One ActionEncoder, eval mode, as plain matrix products in the ``layout`` given."""

    def __init__(self, m: ActionEncoder, joint_major: bool) -> None:
        super().__init__()
        c = m.config
        self.joints, self.hidden, self.dct_m, self.joint_major = c.joints, c.hidden, c.dct_m, joint_major
        self.normalize = c.normalize
        self.dct = m.dct_basis.detach().clone()
        layers = [(m.gc_in, m.bn_in)]
        layers += [
            (getattr(b, g), getattr(b, n)) for b in m.blocks for g, n in (("gc1", "bn1"), ("gc2", "bn2"))
        ]
        shape = (c.joints, 1, c.hidden) if joint_major else (c.joints, c.hidden)
        self.w = [gc.weight.detach().clone() for gc, _ in layers]
        self.a = [gc.adjacency.detach().clone() for gc, _ in layers]
        self.st = [(s.reshape(shape), t.reshape(shape)) for s, t in (_affine(bn) for _, bn in layers)]

    def layer(self, h: torch.Tensor, i: int) -> torch.Tensor:
        j, f_in = self.joints, self.w[i].shape[0]
        if self.joint_major:  # h (J, B, f_in)
            z = torch.matmul(h.reshape(-1, f_in), self.w[i]).reshape(j, -1)
            y = torch.matmul(self.a[i], z).reshape(j, -1, self.hidden)
        else:  # h (B, J, f_in)
            y = torch.matmul(self.a[i], torch.matmul(h, self.w[i]))
        s, t = self.st[i]
        return torch.tanh(y * s + t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        j, m, frames = self.joints, self.dct_m, x.shape[1]
        c = torch.matmul(self.dct, x.reshape(-1, frames, j * 3)).reshape(-1, m, j, 3)  # (B, M, J, 3)
        order = (2, 0, 1, 3) if self.joint_major else (0, 2, 1, 3)
        h = self.layer(c.permute(*order).reshape(*((j, -1) if self.joint_major else (-1, j)), m * 3), 0)
        for k in range(1, len(self.w), 2):
            h = h + self.layer(self.layer(h, k), k + 1)
        z = h.amax(dim=0 if self.joint_major else 1)
        return nn.functional.normalize(z, dim=1) if self.normalize else z


class Arranged(nn.Module):
    def __init__(self, members: list[ActionEncoder], joint_major: bool) -> None:
        super().__init__()
        self.members = nn.ModuleList(Member(m, joint_major) for m in members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.members], dim=1) / math.sqrt(len(self.members))


def export(module: nn.Module, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (torch.zeros(2, 60, 20, 3),), str(path), dynamo=False, opset_version=17,
            input_names=["windows"], output_names=["embedding"],
            dynamic_axes={"windows": {0: "batch"}, "embedding": {0: "batch"}},
        )  # fmt: skip


def main() -> None:
    torch.set_num_threads(1)
    encoder, spec, _ = load_encoder()
    members = list(encoder.members) if hasattr(encoder, "members") else [encoder]
    clips = load_dataset("kinder-gator", None).clips[::5]
    x = np.concatenate([clip_to_windows(c.joints, c.times, WindowSpec()) for c in clips])[:ROWS]
    with torch.inference_mode():
        ref = encoder(torch.from_numpy(x)).numpy()
    opts = session_options(1, "all", allow_spinning=False)
    graphs = {"bundled": Path(__file__).resolve().parents[3] / "models" / "weights" / "encoder.onnx"}
    with tempfile.TemporaryDirectory() as tmp:
        for name, joint_major in (("static (B, J, H)", False), ("static (J, B, H)", True)):
            graphs[name] = Path(tmp) / f"{joint_major}.onnx"
            export(Arranged(members, joint_major).eval(), graphs[name])
        sessions = {
            k: ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
            for k, p in graphs.items()
        }
        us: dict[tuple[str, int], list[float]] = {}
        for name, s in sessions.items():
            err = np.abs(s.run(None, {"windows": x})[0] - ref).max()
            sys.stdout.write(f"{name}: max abs vs torch {err:.1e}\n")
        for _ in range(ROUNDS):
            for run in (32, ROWS):
                for name, s in sessions.items():
                    t = time.process_time()
                    for _ in range(CALLS):
                        for i in range(0, ROWS, run):
                            s.run(None, {"windows": x[i : i + run]})
                    us.setdefault((name, run), []).append((time.process_time() - t) / CALLS / ROWS * 1e6)
    sys.stdout.write(f"load {os.getloadavg()[0]:.2f}; CPU us per row, min / median of {ROUNDS}:\n")
    for (name, run), v in us.items():
        sys.stdout.write(f"  {name:<17} runs of {run:>3}: {min(v):6.1f} / {float(np.median(v)):6.1f}\n")


if __name__ == "__main__":
    main()
