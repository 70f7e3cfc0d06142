"""The MacDiff model the project loads once and calls: networks + data scaling + noise schedule.

Three uses, each a short loop over the pieces (the schedule is HumanMAC's cosine DDIM scheduler):

* :meth:`MacDiff.represent`: the encoder's pooled representation of whole windows;
* :meth:`MacDiff.augment`: Sec. 3.4's label-preserving variants, one denoising step from ``t_s``
  conditioned on the window's own (masked) representation;
* :meth:`MacDiff.reconstruct`: fill missing joints (a mask over frames and joints) by DDIM sampling,
  keeping the observed coordinates (noised to each step's level) as HumanMAC's Eq. 4 keeps frames.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.checkpoint import load_metadata, load_state, save_checkpoint
from models.humanmac.scheduler import CosineDDIMScheduler, SchedulerConfig
from models.macdiff.network import MacDiffConfig, MacDiffNetwork
from models.macdiff.patches import patchify, random_keep
from models.preprocess import WindowSpec

KIND = "haad.macdiff"
DEFAULT_MACDIFF_PATH = Path(__file__).resolve().parents[1] / "weights" / "macdiff.safetensors"


class Standardiser(nn.Module):
    """``(x - μ) / s``: μ ``(J, 3)`` the mean joint position, s one scalar (overall std), so the data
    has about unit variance like the noise and noise stays isotropic. Buffers: saved with the weights."""

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, joints: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(joints, 3))
        self.register_buffer("scale", torch.ones(()))

    @torch.no_grad()
    def fit(self, windows: np.ndarray) -> Standardiser:
        w = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
        self.mean.copy_(w.mean(dim=(0, 1)))
        self.scale.copy_((w - self.mean).std().clamp(min=1e-6))
        return self

    def encode(self, windows: torch.Tensor) -> torch.Tensor:
        return (windows - self.mean) / self.scale

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.mean


def as_windows(windows: np.ndarray, config: MacDiffConfig) -> torch.Tensor:
    w = np.asarray(windows, dtype=np.float32)
    if w.ndim != 4 or w.shape[1:] != (config.frames, config.joints, 3):
        raise ValueError(f"windows must have shape (B, {config.frames}, {config.joints}, 3); got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("windows contain NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(w))


class MacDiff:
    """A trained (EMA) MacDiff ready for windows cut by ``spec``; ``meta``: the checkpoint's metadata."""

    def __init__(
        self,
        network: MacDiffNetwork,
        scaler: Standardiser,
        scheduler: CosineDDIMScheduler,
        spec: WindowSpec,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if network.config.frames != spec.frames:
            raise ValueError(f"the network covers {network.config.frames} frames, windows have {spec.frames}")
        self.network = network.eval()
        self.scaler = scaler.eval()
        self.scheduler = scheduler
        self.spec = spec
        self.meta = meta or {}

    @property
    def config(self) -> MacDiffConfig:
        return self.network.config

    def modules(self) -> nn.ModuleDict:
        """Everything with weights or buffers, as saved in a checkpoint."""
        return nn.ModuleDict({"network": self.network, "scaler": self.scaler})

    def configs(self) -> dict[str, Any]:
        return {
            "macdiff": self.config.to_dict(),
            "scheduler": self.scheduler.config.to_dict(),
            "window": self.spec.to_dict(),
        }

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the weights, buffers and configs."""
        h = hashlib.sha256(json.dumps(self.configs(), sort_keys=True).encode())
        for name, tensor in sorted(self.modules().state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    @torch.inference_mode()
    def represent(self, windows: np.ndarray) -> np.ndarray:
        """Pooled encoder representation of whole (unmasked) windows ``(B, F, J, 3)`` -> ``(B, C)``."""
        x = self.scaler.encode(as_windows(windows, self.config))
        keep = torch.arange(self.config.tokens).expand(len(x), -1)
        return self.network.representation(x, keep).numpy()

    def embed_fn(self) -> Callable[[np.ndarray], np.ndarray]:
        """:meth:`represent` at unit length, as the few-shot scorer reads the encoder's embeddings."""

        def embed(windows: np.ndarray) -> np.ndarray:
            z = self.represent(windows)
            return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

        return embed

    @torch.inference_mode()
    def augment(
        self, windows: np.ndarray, *, samples: int, t_s: int, generator: torch.Generator | None = None
    ) -> np.ndarray:
        """Sec. 3.4: ``samples`` variants of each window ``(B, F, J, 3)`` -> ``(B, S, F, J, 3)`` float32.

        Each variant is the window noised to ``t_s`` and denoised in one step, ``x̂_0`` of DDIM, by the
        decoder conditioned on the window's representation from a fresh random mask (the training
        ratio): noise and mask make the variants differ, the condition keeps them the window's kind.
        """
        if samples < 1 or not 0 <= t_s < self.scheduler.config.train_timesteps:
            raise ValueError(f"need samples >= 1 and 0 <= t_s < T; got {samples}, {t_s}")
        x0 = self.scaler.encode(as_windows(windows, self.config)).repeat_interleave(samples, dim=0)
        keep = random_keep(len(x0), self.config.tokens, self.config.mask_ratio, generator=generator)
        z = self.network.condition(x0, keep)
        t = torch.full((len(x0),), t_s)
        x_t = self.scheduler.add_noise(x0, torch.randn(x0.shape, generator=generator), t)
        a = self.scheduler.alpha_cumprod(t_s)
        x0_hat = (x_t - (1 - a).sqrt() * self.network.decoder(x_t, t, z)) / a.sqrt()
        return self.scaler.decode(x0_hat).reshape(len(windows), samples, *x0.shape[1:]).numpy()

    @torch.inference_mode()
    def reconstruct(
        self,
        windows: np.ndarray,
        known: np.ndarray,
        *,
        steps: int = 20,
        start: float = 1.0,
        guess: np.ndarray | None = None,
        generator: torch.Generator | None = None,
    ) -> np.ndarray:
        """Fill the unknown joints of windows ``(B, F, J, 3)``; ``known`` ``(B, F, J)`` bool.

        The condition comes from the fully observed patches only (a random ``1 - r`` share of them,
        as in training). Sampling runs DDIM over ``steps`` steps; at every step the known coordinates
        are replaced by the observation noised to the step's level. ``start`` < 1 starts at
        ``start · T`` from ``guess`` (e.g. the linear gap filling) noised to that level, as SDEdit
        does, instead of from pure noise. Returns float32 windows whose known joints are the input's.
        """
        c = self.config
        w = as_windows(np.where(known[..., None], windows, 0.0), c)
        mask = torch.from_numpy(np.asarray(known, dtype=bool))[..., None].float()  # (B, F, J, 1)
        if mask.shape[:3] != w.shape[:3]:
            raise ValueError(f"known must have shape {tuple(w.shape[:3])}; got {tuple(mask.shape[:3])}")
        if not 0.0 < start <= 1.0:
            raise ValueError(f"start must be in (0, 1]; got {start}")
        x_known = self.scaler.encode(w)
        full = patchify(mask.expand(-1, -1, -1, 3), c.patch).amin(dim=2) > 0  # (B, N) fully observed
        keep = random_keep(len(w), c.tokens, c.mask_ratio, generator=generator, allowed=full)
        z = self.network.condition(x_known, keep)

        self.scheduler.set_timesteps(steps)
        timesteps = self.scheduler.timesteps.tolist()
        x = torch.randn(w.shape, generator=generator)
        if start < 1.0:
            if guess is None:
                raise ValueError("start < 1 needs a guess to start from")
            timesteps = [
                t for t in timesteps if t <= start * self.scheduler.config.train_timesteps
            ] or timesteps[-1:]
            x = self.scheduler.add_noise(self.scaler.encode(as_windows(guess, c)), x, timesteps[0])
        for t in timesteps:
            eps = self.network.decoder(x, torch.full((len(x),), t), z)
            x = self.scheduler.step(eps, t, x).prev_sample
            noised = self.scheduler.add_noise(x_known, torch.randn(w.shape, generator=generator),
                                              self.scheduler.previous_timestep(t))  # fmt: skip
            x = mask * noised + (1 - mask) * x
        return torch.where(mask > 0, w, self.scaler.decode(x)).numpy()


def save_macdiff(path: Path, model: MacDiff, metadata: dict[str, Any]) -> None:
    """Weights and buffers, every config and the window spec, plus ``metadata``."""
    save_checkpoint(path, model.modules(), KIND, {**model.configs(), **metadata})


def load_macdiff(path: Path | None = None) -> MacDiff:
    """Rebuild MacDiff from its checkpoint alone (CPU, eval mode). Default: the bundled one."""
    path = Path(path) if path is not None else DEFAULT_MACDIFF_PATH
    meta = load_metadata(path, KIND)
    network = MacDiffNetwork(MacDiffConfig.from_dict(meta["macdiff"]))
    scaler = Standardiser(network.config.joints)
    nn.ModuleDict({"network": network, "scaler": scaler}).load_state_dict(load_state(path))
    scheduler = CosineDDIMScheduler(SchedulerConfig.from_dict(meta["scheduler"]))
    return MacDiff(network, scaler, scheduler, WindowSpec.from_dict(meta["window"]), meta)
