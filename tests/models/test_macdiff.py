"""MacDiff patches, masking, networks, uses and checkpoint round trip (untrained weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.macdiff import MacDiff, load_macdiff, save_macdiff
from models.macdiff.network import MacDiffConfig, MacDiffNetwork, fill_condition
from models.macdiff.patches import kept_tokens, patchify, random_keep, unpatchify

SMALL = MacDiffConfig(patch=10, width=16, encoder_depth=1, decoder_depth=1, heads=2)  # tiny_macdiff's


def smooth_windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0.0, 0.03, size=(n, 60, 20, 3)), axis=1).astype(np.float32)


def test_patches_hold_one_joint_over_l_frames_and_unpatchify_inverts() -> None:
    w = torch.from_numpy(smooth_windows(2))
    tokens = patchify(w, 10)
    assert tokens.shape == (2, 6 * 20, 30)
    # token p·J + j is joint j over frames 10p .. 10p + 9, frame-major
    assert torch.equal(tokens[1, 3 * 20 + 7].reshape(10, 3), w[1, 30:40, 7])
    assert torch.equal(unpatchify(tokens, 10, 20), w)
    with pytest.raises(ValueError, match="patches of 7"):
        patchify(w, 7)


def test_random_masking_keeps_a_tenth_of_the_tokens_differently_per_window() -> None:
    keep = random_keep(4, 120, 0.9, generator=torch.Generator().manual_seed(0))
    assert keep.shape == (4, kept_tokens(120, 0.9)) == (4, 12)
    assert all(len(set(row.tolist())) == 12 for row in keep)  # no token twice
    assert not torch.equal(keep[0], keep[1])
    assert kept_tokens(125, 0.9) == 13  # ceil((1 - r) · N)
    allowed = torch.zeros(4, 120, dtype=torch.bool)
    allowed[:, :50] = True
    assert (random_keep(4, 120, 0.9, allowed=allowed) < 50).all()  # only observed tokens
    with pytest.raises(ValueError, match="ratio"):
        random_keep(1, 120, 1.0)


def test_condition_is_local_at_kept_tokens_and_global_elsewhere() -> None:
    z_local = torch.randn(2, 3, 4)
    keep = torch.tensor([[0, 5, 9], [1, 2, 3]])
    z = fill_condition(z_local, keep, 10)
    assert z.shape == (2, 10, 4)
    assert torch.equal(z[0, 5], z_local[0, 1]) and torch.equal(z[1, 3], z_local[1, 2])
    assert torch.allclose(z[0, 1], z_local[0].mean(dim=0)) and torch.allclose(z[1, 9], z_local[1].mean(dim=0))


def test_decoder_predicts_noise_of_the_window_shape_and_reads_the_condition(tiny_macdiff: MacDiff) -> None:
    net = tiny_macdiff.network
    x = torch.randn(3, 60, 20, 3)
    keep = random_keep(3, SMALL.tokens, SMALL.mask_ratio, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        z = net.condition(x, keep)
        eps = net.decoder(x, torch.tensor([1, 500, 999]), z)
        other = net.decoder(x, torch.tensor([1, 500, 999]), net.condition(-x, keep))
    assert z.shape == (3, SMALL.tokens, SMALL.width) and eps.shape == x.shape
    assert not torch.allclose(eps, other)  # the condition steers the prediction
    assert torch.count_nonzero(MacDiffNetwork(SMALL).decoder(x, torch.zeros(3), z)) == 0  # zero-init head


def test_condition_dropout_replaces_whole_windows_by_the_null_condition_at_its_rate() -> None:
    net = MacDiffNetwork(SMALL)
    with torch.no_grad():
        net.null.fill_(7.0)
    z = torch.randn(4000, 5, SMALL.width)
    out = net.drop_condition(z, 0.1, torch.Generator().manual_seed(0))
    dropped = (out == 7.0).all(dim=(1, 2))
    assert ((out == z).all(dim=(1, 2)) | dropped).all()  # a window is all kept or all null
    assert 0.08 < dropped.float().mean().item() < 0.12
    assert torch.equal(net.drop_condition(z, 0.0), z)


def test_augmentation_gives_variants_near_the_window_that_differ(tiny_macdiff: MacDiff) -> None:
    model, w = tiny_macdiff, smooth_windows(3)
    out = model.augment(w, samples=2, t_s=300, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 2, 60, 20, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    assert not np.allclose(out[:, 0], out[:, 1])
    with pytest.raises(ValueError, match="t_s"):
        model.augment(w, samples=1, t_s=1000)
    with pytest.raises(ValueError, match="NaN"):
        model.augment(np.full_like(w, np.nan), samples=1, t_s=10)


def test_reconstruction_keeps_known_joints_exactly(tiny_macdiff: MacDiff) -> None:
    model, w = tiny_macdiff, smooth_windows(2)
    known = np.ones(w.shape[:3], dtype=bool)
    known[:, 20:35, [4, 7]] = False
    out = model.reconstruct(w, known, steps=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == w.shape and np.array_equal(out[known], w[known])
    assert not np.allclose(out[~known], w[~known])
    warm = model.reconstruct(
        w, known, steps=3, start=0.3, guess=w, generator=torch.Generator().manual_seed(0)
    )
    assert np.array_equal(warm[known], w[known])
    with pytest.raises(ValueError, match="guess"):
        model.reconstruct(w, known, steps=3, start=0.3)


def test_same_seed_same_variants_up_to_float_rounding_another_seed_differs(tiny_macdiff: MacDiff) -> None:
    model, w = tiny_macdiff, smooth_windows(2)
    a, b, c = (
        model.augment(w, samples=2, t_s=300, generator=torch.Generator().manual_seed(s)) for s in (0, 0, 1)
    )
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a, c)


def test_checkpoint_rebuilds_the_model_alone(tiny_macdiff: MacDiff, tmp_path: Path) -> None:
    model, w = tiny_macdiff, smooth_windows(2)
    path = tmp_path / "md.safetensors"
    save_macdiff(path, model, {"note": "test"})
    loaded = load_macdiff(path)
    assert (
        loaded.config == SMALL and loaded.meta["note"] == "test" and loaded.fingerprint == model.fingerprint
    )
    np.testing.assert_array_equal(loaded.represent(w), model.represent(w))
    assert model.represent(w).shape == (2, SMALL.width)
    np.testing.assert_allclose(np.linalg.norm(model.embed_fn()(w), axis=1), 1.0, rtol=1e-5)  # as scored
    with pytest.raises(ValueError, match="macdiff"):
        from models.humanmac import load_humanmac

        load_humanmac(path)
