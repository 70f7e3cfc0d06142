"""HumanMAC network, codec, DCT-completion sampler and checkpoint round trip (untrained weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from config.completions import SamplerSettings
from models.checkpoint import save_checkpoint
from models.humanmac import HumanMAC, load_humanmac, save_humanmac
from models.humanmac.codec import MotionCodec
from models.humanmac.network import DenoiserConfig, MotionDenoiser
from models.humanmac.sampler import complete, known_frames, pad_unknown
from models.humanmac.scheduler import CosineDDIMScheduler


def smooth_windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0.0, 0.03, size=(n, 60, 20, 3)), axis=1).astype(np.float32)


def test_denoiser_maps_tokens_to_noise_of_the_same_shape() -> None:
    net = MotionDenoiser(DenoiserConfig(width=16, depth=2, heads=2))
    x = torch.randn(5, 20, 60)
    out = net(x, torch.tensor([0, 10, 500, 998, 999]))
    assert out.shape == (5, 20, 60)
    assert torch.count_nonzero(out) == 0  # zero-initialised head: starts by predicting no noise
    with pytest.raises(ValueError, match=r"\(B, 20, 60\)"):
        net(torch.randn(5, 10, 60), torch.zeros(5))


def test_denoiser_output_depends_on_the_timestep(tiny_humanmac: HumanMAC) -> None:
    x = torch.randn(2, 20, 60)
    with torch.no_grad():
        early, late = (
            tiny_humanmac.network(x, torch.tensor([10, 10])),
            tiny_humanmac.network(x, torch.tensor([900, 900])),
        )
    assert not torch.allclose(early, late)


def test_codec_is_standardised_on_its_fit_data_and_decodes_the_low_pass() -> None:
    w = smooth_windows(16)
    codec = MotionCodec(60, 20, 20).fit(w)
    x = codec.encode(torch.from_numpy(w))
    assert x.shape == (16, 20, 60)
    assert torch.allclose(x.mean(dim=0), torch.zeros(20, 60), atol=1e-5)
    assert x.std().item() == pytest.approx(1.0, rel=1e-3)
    full = MotionCodec(60, 20, 60).fit(w)  # all frequencies: decode(encode(w)) is the identity
    assert torch.allclose(full.decode(full.encode(torch.from_numpy(w))), torch.from_numpy(w), atol=1e-4)


def test_padding_with_the_gap_at_the_end_repeats_the_last_observed_pose() -> None:
    w = torch.from_numpy(smooth_windows(2))
    padded = pad_unknown(w, known_frames(60, 30))
    assert torch.equal(padded[:, :30], w[:, :30])
    assert torch.equal(padded[:, 30:], w[:, 29:30].expand(-1, 30, -1, -1))


def test_padding_a_middle_gap_interpolates_between_its_bounding_poses() -> None:
    w = torch.from_numpy(smooth_windows(2))
    known = known_frames(60, 40, "middle")
    assert known[:20].all() and not known[20:40].any() and known[40:].all()
    padded = pad_unknown(w, known)
    assert torch.equal(padded[:, known], w[:, known])
    t = (torch.arange(20, 40, dtype=torch.float32) - 19) / 21  # frames 19 and 40 bound the gap
    want = w[:, 19:20] + t[None, :, None, None] * (w[:, 40:41] - w[:, 19:20])
    assert torch.allclose(padded[:, 20:40], want, atol=1e-6)


def test_known_frames_split_an_odd_observation_and_reject_impossible_ones() -> None:
    assert known_frames(60, 41, "middle").sum() == 41
    assert known_frames(60, 41, "middle")[:21].all() and not known_frames(60, 41, "middle")[21]
    with pytest.raises(ValueError, match="observed"):
        known_frames(60, 1, "middle")  # nothing left for one of the ends
    with pytest.raises(ValueError, match="observed"):
        known_frames(60, 60)


def test_completion_keeps_the_observed_frames_exactly(tiny_humanmac: HumanMAC, generate) -> None:
    w = smooth_windows(3)
    out = generate(tiny_humanmac, w, 4, observed=30, steps=5, rng=torch.Generator().manual_seed(0))
    assert out.shape == (3, 4, 60, 20, 3) and out.dtype == np.float32
    assert np.array_equal(out[:, :, :30], np.broadcast_to(w[:, None, :30], (3, 4, 30, 20, 3)))
    assert not np.allclose(out[:, 0, 30:], out[:, 1, 30:])  # the samples of one window differ


@pytest.mark.parametrize("observed", [1, 10, 50, 59])
def test_completion_respects_any_observed_length(tiny_humanmac: HumanMAC, observed: int, generate) -> None:
    w = smooth_windows(1)
    out = generate(tiny_humanmac, w, 2, observed=observed, steps=3, rng=torch.Generator().manual_seed(0))
    assert np.array_equal(out[0, :, :observed], np.repeat(w[:, :observed], 2, axis=0))


@pytest.mark.parametrize("refine", [False, True])
def test_middle_gap_completion_keeps_both_ends_and_generates_between(
    tiny_humanmac: HumanMAC, refine: bool, generate
) -> None:
    w = smooth_windows(2)
    sampler = SamplerSettings(refine=refine)
    out = generate(tiny_humanmac, w, 3, observed=40, gap="middle", steps=4, sampler=sampler,
                                 rng=torch.Generator().manual_seed(0))  # fmt: skip
    known = known_frames(60, 40, "middle")
    np.testing.assert_array_equal(
        out[:, :, known], np.broadcast_to(w[:, None, known], out[:, :, known].shape)
    )
    assert not np.allclose(out[:, 0, 20:40], out[:, 1, 20:40])  # the samples differ in the gap
    if refine:  # re-anchored at both ends: the gap rejoins the observation without a jump
        step_in = np.abs(out[:, :, 20] - out[:, :, 19]).mean()
        step_out = np.abs(out[:, :, 40] - out[:, :, 39]).mean()
        typical = np.abs(np.diff(w, axis=1)).mean()
        assert max(step_in, step_out) < 5 * typical


def test_completion_is_reproducible_under_a_seed(tiny_humanmac: HumanMAC, generate) -> None:
    w = smooth_windows(2)

    def run(seed: int, eta: float) -> np.ndarray:
        return generate(tiny_humanmac, w, 3, steps=6, eta=eta, rng=torch.Generator().manual_seed(seed))

    assert np.array_equal(run(0, 0.0), run(0, 0.0))
    assert np.array_equal(run(0, 0.5), run(0, 0.5))
    assert not np.allclose(run(0, 0.0), run(1, 0.0))


def test_completion_with_an_exact_noise_network_recovers_a_held_pose() -> None:
    """Eq. (4) end to end: a network that knows x0 must return a motionless window unchanged (a
    static pose is exactly representable by the DCT's first frequency)."""
    pose = smooth_windows(1)[:, :1]
    window = torch.from_numpy(np.repeat(pose, 60, axis=1))  # (1, 60, 20, 3)
    codec = MotionCodec(60, 20, 20).fit(smooth_windows(8))
    scheduler = CosineDDIMScheduler()
    x0 = codec.encode(window)

    class ExactNoise(torch.nn.Module):
        def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            a = scheduler.alpha_cumprod(t).reshape(-1, 1, 1)
            return (x - a.sqrt() * x0) / (1 - a).sqrt()

    out = complete(ExactNoise(), scheduler, codec, window, samples=3, observed=30, steps=20,
                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.allclose(out, window[:, None].expand(-1, 3, -1, -1, -1), atol=1e-4)


def test_generate_rejects_bad_windows(tiny_humanmac: HumanMAC, generate) -> None:
    with pytest.raises(ValueError, match="shape"):
        generate(tiny_humanmac, np.zeros((2, 30, 20, 3), np.float32), 2, steps=2)
    bad = smooth_windows(1)
    bad[0, 3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        generate(tiny_humanmac, bad, 2, steps=2)
    with pytest.raises(ValueError, match="observed"):
        generate(tiny_humanmac, smooth_windows(1), 2, observed=60, steps=2)


def test_checkpoint_round_trip_rebuilds_the_generator_from_the_checkpoint_alone(
    tiny_humanmac: HumanMAC, tmp_path: Path, generate
) -> None:
    path = tmp_path / "hm.safetensors"
    save_humanmac(path, tiny_humanmac, {"metrics": {"final_loss": 0.5}})
    loaded = load_humanmac(path)
    assert loaded.fingerprint == tiny_humanmac.fingerprint
    assert loaded.network.config == tiny_humanmac.network.config
    assert loaded.spec == tiny_humanmac.spec
    assert torch.equal(loaded.codec.mean, tiny_humanmac.codec.mean)
    assert loaded.meta["metrics"]["final_loss"] == 0.5 and loaded.meta["git_revision"]
    w = smooth_windows(2)
    a = generate(tiny_humanmac, w, 2, steps=4, rng=torch.Generator().manual_seed(3))
    b = generate(loaded, w, 2, steps=4, rng=torch.Generator().manual_seed(3))
    assert np.array_equal(a, b)


def test_fingerprint_changes_with_the_weights(tiny_humanmac: HumanMAC) -> None:
    net = MotionDenoiser(tiny_humanmac.network.config)
    net.load_state_dict(tiny_humanmac.network.state_dict())
    twin = HumanMAC(net, tiny_humanmac.codec, CosineDDIMScheduler(), tiny_humanmac.spec)
    assert twin.fingerprint == tiny_humanmac.fingerprint
    with torch.no_grad():
        net.head.bias.add_(1e-3)
    changed = HumanMAC(net, tiny_humanmac.codec, CosineDDIMScheduler(), tiny_humanmac.spec)
    assert changed.fingerprint != tiny_humanmac.fingerprint


def test_loading_another_kind_of_checkpoint_fails(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_checkpoint(path, torch.nn.Linear(2, 2), "haad.encoder", {})
    with pytest.raises(ValueError, match="not 'haad.humanmac'"):
        load_humanmac(path)
    with pytest.raises(FileNotFoundError):
        load_humanmac(tmp_path / "missing.safetensors")


def test_reanchor_shifts_the_generated_frames_onto_the_last_observed_pose(tiny_humanmac: HumanMAC) -> None:
    w = torch.from_numpy(smooth_windows(2))
    parts = (tiny_humanmac.network, tiny_humanmac.scheduler, tiny_humanmac.codec, w)

    def run(reanchor: bool) -> torch.Tensor:
        with torch.inference_mode():
            return complete(*parts, samples=2, observed=30, steps=4, reanchor=reanchor,
                            generator=torch.Generator().manual_seed(1))  # fmt: skip

    raw, anchored = run(False), run(True)
    shift = anchored[:, :, 30:] - raw[:, :, 30:]
    assert torch.allclose(shift, shift[:, :, :1].expand_as(shift), atol=1e-5)  # one offset per sample
    assert shift.abs().max() > 1e-4  # 20 frequencies do not reproduce the observation: a real offset
    assert torch.equal(anchored[:, :, :30], w[:, None, :30].expand(-1, 2, -1, -1, -1))


def test_reanchoring_a_middle_gap_blends_the_offsets_of_its_two_ends(tiny_humanmac: HumanMAC) -> None:
    w = torch.from_numpy(smooth_windows(2))
    parts = (tiny_humanmac.network, tiny_humanmac.scheduler, tiny_humanmac.codec, w)

    def run(reanchor: bool) -> torch.Tensor:
        with torch.inference_mode():
            return complete(*parts, samples=2, observed=40, gap="middle", steps=4, reanchor=reanchor,
                            generator=torch.Generator().manual_seed(1))  # fmt: skip

    raw, anchored = run(False), run(True)
    shift = anchored[:, :, 20:40] - raw[:, :, 20:40]
    bend = shift[:, :, 2:] - 2 * shift[:, :, 1:-1] + shift[:, :, :-2]
    assert bend.abs().max() < 1e-5  # linear across the gap ...
    assert (shift[:, :, -1] - shift[:, :, 0]).abs().max() > 1e-4  # ... from one end's offset to the other's


def test_sampling_from_a_late_start_at_low_temperature_stays_near_the_observation(
    tiny_humanmac: HumanMAC, generate
) -> None:
    w = smooth_windows(2)
    held = pad_unknown(torch.from_numpy(w), known_frames(60, 30)).numpy()

    def spread(start: float, temperature: float) -> float:
        sampler = SamplerSettings(start=start, temperature=temperature, refine=False)
        out = generate(tiny_humanmac, w, 3, steps=20, sampler=sampler, rng=torch.Generator().manual_seed(0))
        return float(np.abs(out[:, :, 30:] - held[:, None, 30:]).mean())

    assert spread(0.05, 0.1) < 0.5 * spread(1.0, 1.0)
    with pytest.raises(ValueError, match="start"):
        generate(tiny_humanmac, w, 2, steps=2, sampler=SamplerSettings(start=0.0))
    with pytest.raises(ValueError, match="temperature"):
        generate(tiny_humanmac, w, 2, steps=2, sampler=SamplerSettings(temperature=0.0))


def test_refined_completions_keep_the_observed_bone_lengths(tiny_humanmac: HumanMAC, generate) -> None:
    from models.skeleton import bone_lengths

    w = smooth_windows(2)
    out = generate(tiny_humanmac, w, 2, steps=4, rng=torch.Generator().manual_seed(0))
    want = bone_lengths(w[:, :30]).mean(axis=1)[:, None, None]
    np.testing.assert_allclose(bone_lengths(out[:, :, 30:]), np.broadcast_to(want, (2, 2, 30, 19)), atol=1e-4)
    np.testing.assert_array_equal(out[:, :, :30], np.broadcast_to(w[:, None, :30], out[:, :, :30].shape))
