"""The cosine schedule and DDIM steps, checked against closed forms with an exact-noise oracle."""

from __future__ import annotations

import pytest
import torch

from models.humanmac.scheduler import CosineDDIMScheduler, SchedulerConfig, cosine_alphas_cumprod


def exact_noise_oracle(scheduler: CosineDDIMScheduler, x0: torch.Tensor):
    """The network that knows the clean sample: ε(x, t) = (x - sqrt(ᾱ_t) x0) / sqrt(1 - ᾱ_t)."""

    def predict(x: torch.Tensor, t: int) -> torch.Tensor:
        a = scheduler.alpha_cumprod(t)
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    return predict


def test_cosine_alpha_bar_falls_monotonically_from_one_to_zero() -> None:
    a = cosine_alphas_cumprod(1000)
    assert a.dtype == torch.float32 and a.shape == (1000,)
    assert torch.all(a[1:] < a[:-1])
    assert a[0] > 0.9999 and a[-1] < 1e-6
    # the cosine schedule's midpoint: ᾱ(T/2) = cos²((0.5 + s)/(1 + s) · π/2) / cos²(s/(1 + s) · π/2) ≈ 0.49
    assert a[499].item() == pytest.approx(0.4938, abs=2e-3)


def test_alpha_cumprod_of_the_clean_data_is_one() -> None:
    s = CosineDDIMScheduler()
    assert s.alpha_cumprod(-1).item() == 1.0
    assert torch.equal(s.alpha_cumprod(torch.tensor([0, 999])), s.alphas_cumprod[[0, 999]])


def test_add_noise_is_eq2_per_sample() -> None:
    s = CosineDDIMScheduler()
    x0, noise = torch.randn(3, 4, 5), torch.randn(3, 4, 5)
    t = torch.tensor([0, 500, 999])
    out = s.add_noise(x0, noise, t)
    for i in range(3):
        a = s.alphas_cumprod[t[i]]
        assert torch.allclose(out[i], a.sqrt() * x0[i] + (1 - a).sqrt() * noise[i], atol=1e-6)
    assert torch.equal(s.add_noise(x0, noise, -1), x0)  # timestep -1: no noise at all


@pytest.mark.parametrize("steps", [1, 7, 100, 1000])
def test_timesteps_are_evenly_spaced_and_end_at_the_clean_data(steps: int) -> None:
    s = CosineDDIMScheduler()
    s.set_timesteps(steps)
    t = s.timesteps.tolist()
    assert len(t) == steps and t[-1] == 0 and t == sorted(t, reverse=True)
    assert len({a - b for a, b in zip(t, t[1:], strict=False)}) <= 1
    assert s.previous_timestep(0) == -1
    assert all(s.previous_timestep(a) == b for a, b in zip(t, t[1:], strict=False))


def test_set_timesteps_rejects_impossible_counts() -> None:
    s = CosineDDIMScheduler(SchedulerConfig(train_timesteps=50))
    with pytest.raises(ValueError, match="1..50"):
        s.set_timesteps(51)
    with pytest.raises(ValueError):
        s.set_timesteps(0)


def test_ddim_eta0_follows_the_closed_form_trajectory_to_x0() -> None:
    """With the exact noise, deterministic DDIM keeps ε fixed: x_t = sqrt(ᾱ_t) x0 + sqrt(1-ᾱ_t) ε."""
    s = CosineDDIMScheduler()
    s.set_timesteps(50)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 20, 60, generator=g, dtype=torch.float64)
    eps = torch.randn(4, 20, 60, generator=g, dtype=torch.float64)
    oracle = exact_noise_oracle(s, x0)
    x = s.add_noise(x0, eps, int(s.timesteps[0]))
    for t in s.timesteps.tolist():
        out = s.step(oracle(x, t), t, x, eta=0.0)
        assert torch.allclose(out.pred_original_sample, x0, atol=1e-6)
        x = out.prev_sample
        assert torch.allclose(x, s.add_noise(x0, eps, s.previous_timestep(t)), atol=1e-6)
    assert torch.allclose(x, x0, atol=1e-9)


def test_ddim_with_eta_is_reproducible_under_a_seed_and_still_lands_on_x0() -> None:
    s = CosineDDIMScheduler()
    s.set_timesteps(20)
    x0 = torch.randn(2, 20, 60, generator=torch.Generator().manual_seed(1))
    oracle = exact_noise_oracle(s, x0)

    def run(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(2, 20, 60, generator=g)
        halfway = None
        for i, t in enumerate(s.timesteps.tolist()):
            x = s.step(oracle(x, t), t, x, eta=1.0, generator=g).prev_sample
            if i == 9:
                halfway = x.clone()
        assert halfway is not None
        return halfway, x

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a[0], b[0])
    assert not torch.allclose(a[0], c[0])  # the injected noise depends on the seed
    assert torch.allclose(a[1], x0, atol=1e-4) and torch.allclose(c[1], x0, atol=1e-4)
