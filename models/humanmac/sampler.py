"""DDIM sampling with DCT-completion (Eq. 4): keep O observed frames, generate the rest.

At every step the network's denoised estimate for the previous timestep and the observed motion
noised to that same level are both taken to the time domain, fused through the frame mask (observed
frames from the noised observation, the rest from the denoised estimate) and taken back to DCT
coefficients. Where the gap is (``gap``):

* ``"end"``: the first O frames are observed and the last F - O predicted (the paper's Eq. 4); the
  observation's future frames hold its last observed pose (HumanMAC's padding);
* ``"middle"``: O/2 frames at each end are observed and the F - O between them generated
  (in-betweening, which HumanMAC's mask allows as well); the gap is padded by linear interpolation
  between its bounding poses. A variant then starts and ends as its source does, so it stays a
  motion of the source's kind more often than a predicted future does (docs/humanmac.md).

Three departures from the paper's sampler, all off at their defaults here; the generator
(``models.humanmac.generator``) turns them on with the values of ``config/completions.py``:

* ``start`` < 1 begins the reverse process at timestep ``start·T`` from the noised observation (its
  held last pose included) instead of at ``T`` from pure noise, as SDEdit does: samples stay closer
  to the observed motion;
* ``temperature`` < 1 scales the initial noise: less diverse, more likely samples;
* ``reanchor``: 20 DCT frequencies reproduce the observation only approximately, so the generated
  frames continue the *smoothed* observation, off the real last observed pose by that residual;
  they are shifted by it, so the motion resumes exactly where the observation stops (in a middle
  gap, by the residuals at its two ends blended linearly, so it also rejoins the observation).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from config.completions import Gap
from models.humanmac.codec import MotionCodec
from models.humanmac.scheduler import CosineDDIMScheduler


def known_frames(frames: int, observed: int, gap: Gap = "end") -> np.ndarray:
    """``(F,)`` bool: the frames a completion keeps from its input (see the module docstring)."""
    least = 1 if gap == "end" else 2
    if not least <= observed < frames:
        raise ValueError(f"observed frames must be in {least}..{frames - 1} (gap {gap!r}); got {observed}")
    idx = np.arange(frames)
    if gap == "end":
        return idx < observed
    head = (observed + 1) // 2
    return (idx < head) | (idx >= frames - (observed - head))


def fill_weights(known: np.ndarray) -> np.ndarray:
    """``(F, K)`` weights rebuilding every frame from the ``K`` known ones: a known frame is itself, a
    frame between two known ones their linear interpolation, one beyond the last (first) known
    frame a copy of it."""
    idx = np.flatnonzero(known).astype(np.float64)
    frames = np.arange(len(known), dtype=np.float64)
    return np.stack([np.interp(frames, idx, np.eye(len(idx))[k]) for k in range(len(idx))], axis=1)


def pad_unknown(windows: torch.Tensor, known: np.ndarray) -> torch.Tensor:
    """``(B, F, J, 3)`` -> copy whose unknown frames are filled from the known ones
    (:func:`fill_weights`); with the gap at the end, the last observed pose held."""
    weights = torch.from_numpy(fill_weights(known)).to(windows)
    return torch.einsum("fk,bkjc->bfjc", weights, windows[:, torch.from_numpy(known)])


def complete(
    network: nn.Module,
    scheduler: CosineDDIMScheduler,
    codec: MotionCodec,
    windows: torch.Tensor,
    *,
    samples: int,
    observed: int,
    gap: Gap = "end",
    steps: int = 100,
    eta: float = 0.0,
    start: float = 1.0,
    temperature: float = 1.0,
    reanchor: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``samples`` completions of the ``F - observed`` frames of each window that ``gap`` places.

    windows: ``(B, F, J, 3)`` normalised windows; only their ``observed`` kept frames are read.
    Returns ``(B, samples, F, J, 3)`` whose kept frames are exactly the input's.
    All ``B·samples`` trajectories go through the network together at every step. Call under
    ``torch.inference_mode()`` with the network in eval mode.
    """
    b, f = windows.shape[:2]
    keep = known_frames(f, observed, gap)
    if samples < 1:
        raise ValueError(f"samples must be positive; got {samples}")
    if not 0.0 < start <= 1.0 or temperature <= 0.0:
        raise ValueError(f"need 0 < start <= 1 and temperature > 0; got {start}, {temperature}")
    known_coefs = codec.encode(pad_unknown(windows, keep)).repeat_interleave(samples, dim=0)
    mask = torch.from_numpy(keep).to(windows)[None, :, None, None]  # (1, F, 1, 1)

    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps.tolist()
    x = temperature * torch.randn(known_coefs.shape, generator=generator, device=known_coefs.device)
    if start < 1.0:
        limit = start * scheduler.config.train_timesteps
        timesteps = [t for t in timesteps if t <= limit] or timesteps[-1:]
        x = scheduler.add_noise(known_coefs, x, timesteps[0])
    for t in timesteps:
        noise_pred = network(x, torch.full((x.shape[0],), t, device=x.device))
        denoised = scheduler.step(noise_pred, t, x, eta=eta, generator=generator).prev_sample
        noise = torch.randn(known_coefs.shape, generator=generator, device=known_coefs.device)
        noised_known = scheduler.add_noise(known_coefs, noise, scheduler.previous_timestep(t))
        x = codec.encode(mask * codec.decode(noised_known) + (1 - mask) * codec.decode(denoised))  # Eq. (4)

    out = codec.decode(x).reshape(b, samples, *windows.shape[1:])
    kept = torch.from_numpy(keep)
    if reanchor:  # each generated frame shifted by the residual its bounding observed frames are off by
        residual = windows[:, None, kept] - out[:, :, kept]
        out += torch.einsum("fk,bskjc->bsfjc", torch.from_numpy(fill_weights(keep)).to(out), residual)
    out[:, :, kept] = windows[:, None, kept]
    return out
