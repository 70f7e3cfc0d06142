"""Cosine noise schedule (Nichol & Dhariwal) with the forward process (Eq. 2) and DDIM steps.

No parameters and no network: ``add_noise`` serves training, ``set_timesteps`` + ``step`` serve
sampling, and the denoising loop (``sampler.py``) stays visible to the reader. Tensors are float32.

Timesteps are integers ``0 .. T-1``; ``alphas_cumprod[t]`` is ᾱ after ``t + 1`` noising steps, and
the virtual timestep ``-1`` (the clean data) has ᾱ = 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch


@dataclass(frozen=True)
class SchedulerConfig:
    """train_timesteps: T (paper: 1000). cosine_s: offset s of the cosine schedule (0.008).
    max_beta: cap on every β_t, which keeps the last steps finite (0.999)."""

    train_timesteps: int = 1000
    cosine_s: float = 0.008
    max_beta: float = 0.999

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SchedulerConfig:
        return cls(**d)


def cosine_alphas_cumprod(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_t, t = 0..T-1, of the cosine schedule: ``f(t) = cos²((t/T + s) / (1 + s) · π/2)``.

    Built from β_t = 1 - f(t+1)/f(t) clipped to ``max_beta``, so ᾱ is a product of the clipped
    betas (float64 internally, float32 out).
    """
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
    return torch.cumprod(1 - betas, dim=0).float()


class DDIMStepOutput(NamedTuple):
    """prev_sample: x at the previous timestep ``(B, ...)``; pred_original_sample: x̂_0 ``(B, ...)``."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class CosineDDIMScheduler:
    """ε-parameterised cosine-schedule diffusion with a DDIM sampler."""

    def __init__(self, config: SchedulerConfig = SchedulerConfig()) -> None:
        self.config = config
        self.alphas_cumprod = cosine_alphas_cumprod(config.train_timesteps, config.cosine_s, config.max_beta)
        self.timesteps = torch.arange(config.train_timesteps - 1, -1, -1)

    def to(self, device: torch.device | str) -> CosineDDIMScheduler:
        self.alphas_cumprod = self.alphas_cumprod.to(device)
        self.timesteps = self.timesteps.to(device)
        return self

    def set_timesteps(self, steps: int) -> None:
        """Use ``steps`` timesteps ``(steps-1)·k, ..., k, 0`` with ``k = T // steps`` (DDIM's spacing).

        Sampling starts one stride below T rather than at T-1: there ᾱ is about 0 and the
        ε-parameterised estimate ``x̂_0 = (x - sqrt(1-ᾱ) ε̂) / sqrt(ᾱ)`` would blow up.
        """
        t_max = self.config.train_timesteps
        if not 1 <= steps <= t_max:
            raise ValueError(f"sampling steps must be in 1..{t_max}; got {steps}")
        self.timesteps = (torch.arange(steps - 1, -1, -1) * (t_max // steps)).to(self.alphas_cumprod.device)

    def previous_timestep(self, t: int) -> int:
        """The timestep after ``t`` in the current ``timesteps`` (``-1``: the clean data)."""
        later = self.timesteps[self.timesteps < t]
        return int(later[0]) if len(later) else -1

    def alpha_cumprod(self, t: int | torch.Tensor) -> torch.Tensor:
        """ᾱ at integer timestep(s) ``t`` (``-1`` -> 1), shaped like ``t``."""
        t = torch.as_tensor(t, device=self.alphas_cumprod.device)
        padded = torch.cat([self.alphas_cumprod.new_ones(1), self.alphas_cumprod])
        return padded[t.long() + 1]

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """Eq. (2): ``sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε``; ``t`` a scalar or one timestep per sample ``(B,)``."""
        a = self.alpha_cumprod(t).reshape(-1, *([1] * (x0.dim() - 1)))
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def step(
        self,
        noise_pred: torch.Tensor,
        t: int,
        x: torch.Tensor,
        *,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> DDIMStepOutput:
        """One DDIM update from timestep ``t`` to :meth:`previous_timestep` (Song et al., Eq. 12).

        ``eta`` = 0 is deterministic; ``eta`` = 1 matches the DDPM posterior variance.
        """
        a_t = self.alpha_cumprod(t)
        a_prev = self.alpha_cumprod(self.previous_timestep(t))
        x0 = (x - (1 - a_t).sqrt() * noise_pred) / a_t.sqrt()
        sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()
        direction = (1 - a_prev - sigma**2).clamp(min=0).sqrt() * noise_pred
        prev = a_prev.sqrt() * x0 + direction
        if eta > 0:
            z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            prev = prev + sigma * z
        return DDIMStepOutput(prev, x0)
