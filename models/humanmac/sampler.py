"""DDIM sampling with DCT-completion (Eq. 4): observe the first O frames, generate the rest.

At every step the network's denoised estimate for the previous timestep and the observed motion
noised to that same level are both taken to the time domain, fused through the frame mask (observed
frames from the noised observation, the rest from the denoised estimate) and taken back to DCT
coefficients. The observation's future frames hold its last observed pose (HumanMAC's padding).

Three departures from the paper's sampler, all off at their defaults here; the generator
(``models.humanmac.generator``) turns them on with the values of ``config/sampling.py``:

* ``start`` < 1 begins the reverse process at timestep ``start·T`` from the noised observation (its
  held last pose included) instead of at ``T`` from pure noise, as SDEdit does: samples stay closer
  to the observed motion;
* ``temperature`` < 1 scales the initial noise: less diverse, more likely samples;
* ``reanchor``: 20 DCT frequencies reproduce the observation only approximately, so the generated
  frames continue the *smoothed* observation, off the real last observed pose by that residual;
  they are shifted by it, so the motion resumes exactly where the observation stops.
"""

from __future__ import annotations

import torch
from torch import nn

from models.humanmac.codec import MotionCodec
from models.humanmac.scheduler import CosineDDIMScheduler


def hold_last_observed(windows: torch.Tensor, observed: int) -> torch.Tensor:
    """``(B, F, J, 3)`` -> copy whose frames from ``observed`` on repeat frame ``observed - 1``."""
    padded = windows.clone()
    padded[:, observed:] = windows[:, observed - 1 : observed]
    return padded


def complete(
    network: nn.Module,
    scheduler: CosineDDIMScheduler,
    codec: MotionCodec,
    windows: torch.Tensor,
    *,
    samples: int,
    observed: int,
    steps: int = 100,
    eta: float = 0.0,
    start: float = 1.0,
    temperature: float = 1.0,
    reanchor: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``samples`` completions of each window's last ``F - observed`` frames.

    windows: ``(B, F, J, 3)`` normalised windows; only their first ``observed`` frames are read.
    Returns ``(B, samples, F, J, 3)`` whose first ``observed`` frames are exactly the input's.
    All ``B·samples`` trajectories go through the network together at every step. Call under
    ``torch.inference_mode()`` with the network in eval mode.
    """
    b, f = windows.shape[:2]
    if not 1 <= observed < f:
        raise ValueError(f"observed frames must be in 1..{f - 1}; got {observed}")
    if samples < 1:
        raise ValueError(f"samples must be positive; got {samples}")
    if not 0.0 < start <= 1.0 or temperature <= 0.0:
        raise ValueError(f"need 0 < start <= 1 and temperature > 0; got {start}, {temperature}")
    known = codec.encode(hold_last_observed(windows, observed)).repeat_interleave(samples, dim=0)
    mask = (torch.arange(f, device=windows.device) < observed).float()[None, :, None, None]  # (1, F, 1, 1)

    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps.tolist()
    x = temperature * torch.randn(known.shape, generator=generator, device=known.device)
    if start < 1.0:
        limit = start * scheduler.config.train_timesteps
        timesteps = [t for t in timesteps if t <= limit] or timesteps[-1:]
        x = scheduler.add_noise(known, x, timesteps[0])
    for t in timesteps:
        noise_pred = network(x, torch.full((x.shape[0],), t, device=x.device))
        denoised = scheduler.step(noise_pred, t, x, eta=eta, generator=generator).prev_sample
        noise = torch.randn(known.shape, generator=generator, device=known.device)
        noised_known = scheduler.add_noise(known, noise, scheduler.previous_timestep(t))
        x = codec.encode(mask * codec.decode(noised_known) + (1 - mask) * codec.decode(denoised))  # Eq. (4)

    out = codec.decode(x).reshape(b, samples, *windows.shape[1:])
    if reanchor:
        out[:, :, observed:] += (windows[:, None, observed - 1] - out[:, :, observed - 1])[:, :, None]
    out[:, :, :observed] = windows[:, None, :observed]
    return out
