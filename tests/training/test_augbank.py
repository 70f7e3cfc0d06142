"""Augmentation bank caching: a hit never samples again; any change of model, data or setting misses."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from config.completions import CompletionSettings, SamplerSettings
from models.humanmac import HumanMAC
from models.humanmac.network import MotionDenoiser
from training.augbank import AugmentationBank, BankSettings

SETTINGS = BankSettings(CompletionSettings(n_g=2, observed=30, gap="end", steps=3), chunk=4, dtype="float32")
_BANK_FIELDS = {"seed", "chunk", "dtype"}


def changed(settings: BankSettings, **change: object) -> BankSettings:
    """``settings`` with some fields changed, whether they belong to the bank, the completions or
    the sampler (eta)."""
    completion = {k: v for k, v in change.items() if k not in _BANK_FIELDS}
    if "eta" in completion:
        completion["sampler"] = settings.completions.sampler.model_copy(update={"eta": completion.pop("eta")})
    bank = {k: v for k, v in change.items() if k in _BANK_FIELDS}
    return replace(settings, completions=settings.completions.model_copy(update=completion), **bank)  # type: ignore[arg-type]


class CountingHumanMAC(HumanMAC):
    """The real generator, counting its sampling calls."""

    calls = 0

    def generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().generate(*args, **kwargs)


@pytest.fixture
def counting(tiny_humanmac: HumanMAC) -> CountingHumanMAC:
    m = tiny_humanmac
    return CountingHumanMAC(m.network, m.codec, m.scheduler, m.spec)


@pytest.fixture
def windows() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.cumsum(rng.normal(0.0, 0.03, size=(6, 60, 20, 3)), axis=1).astype(np.float32)


def test_variants_are_index_aligned_with_their_windows(
    counting: CountingHumanMAC, windows, tmp_path: Path
) -> None:
    variants = AugmentationBank(tmp_path).load_or_build(windows, counting, SETTINGS, progress=False)
    assert variants.shape == (6, 2, 60, 20, 3)
    for i in range(6):
        assert np.array_equal(variants[i, :, :30], np.repeat(windows[i : i + 1, :30], 2, axis=0))
    assert counting.calls == 2  # 6 windows in chunks of 4


def test_a_middle_gap_bank_keeps_both_ends_of_every_window(
    counting: CountingHumanMAC, windows, tmp_path: Path
) -> None:
    settings = changed(SETTINGS, observed=40, gap="middle")
    variants = AugmentationBank(tmp_path).load_or_build(windows, counting, settings, progress=False)
    ends = np.r_[0:20, 40:60]
    assert np.array_equal(variants[:, :, ends], np.repeat(windows[:, None, ends], 2, axis=1))
    assert not np.allclose(variants[:, :, 20:40], windows[:, None, 20:40], atol=1e-3)


def test_cache_hit_does_not_call_the_generator_again(
    counting: CountingHumanMAC, windows, tmp_path: Path
) -> None:
    first = AugmentationBank(tmp_path).load_or_build(windows, counting, SETTINGS, progress=False)
    calls = counting.calls
    again = AugmentationBank(tmp_path).load_or_build(windows, counting, SETTINGS, progress=False)
    assert counting.calls == calls
    assert np.array_equal(first, again)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy"]  # no temporary files left


@pytest.mark.parametrize(
    "change",
    [
        {"n_g": 3}, {"steps": 4}, {"seed": 1}, {"eta": 0.5}, {"observed": 20}, {"chunk": 2},
        {"sampler": SamplerSettings(start=1.0)}, {"gap": "middle"},
    ],
)  # fmt: skip
def test_a_changed_setting_misses(counting: CountingHumanMAC, windows, tmp_path: Path, change: dict) -> None:
    bank = AugmentationBank(tmp_path)
    bank.load_or_build(windows, counting, SETTINGS, progress=False)
    calls = counting.calls
    out = bank.load_or_build(windows, counting, changed(SETTINGS, **change), progress=False)
    assert counting.calls > calls
    assert out.shape[1] == change.get("n_g", SETTINGS.completions.n_g)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_changed_windows_or_weights_miss(counting: CountingHumanMAC, windows, tmp_path: Path) -> None:
    bank = AugmentationBank(tmp_path)
    bank.load_or_build(windows, counting, SETTINGS, progress=False)
    calls = counting.calls
    moved = windows.copy()
    moved[0, 0, 0, 0] += 1e-3
    bank.load_or_build(moved, counting, SETTINGS, progress=False)
    assert counting.calls > calls

    net = MotionDenoiser(counting.network.config)
    net.load_state_dict(counting.network.state_dict())
    with torch.no_grad():
        net.head.bias.add_(1e-3)
    other = CountingHumanMAC(net, counting.codec, counting.scheduler, counting.spec)
    bank.load_or_build(windows, other, SETTINGS, progress=False)
    assert other.calls > 0


def test_float16_storage_and_an_unreadable_cache_is_rebuilt(
    counting: CountingHumanMAC, windows, tmp_path: Path
) -> None:
    settings = changed(SETTINGS, dtype="float16")
    bank = AugmentationBank(tmp_path)
    first = bank.load_or_build(windows, counting, settings, progress=False)
    assert first.dtype == np.float16
    npy = next(tmp_path.glob("*.npy"))
    npy.write_bytes(b"not an array")
    calls = counting.calls
    again = bank.load_or_build(windows, counting, settings, progress=False)
    assert counting.calls > calls and np.array_equal(first, again)  # same seed, same variants


def test_bad_windows_are_refused(counting: CountingHumanMAC, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        AugmentationBank(tmp_path).load_or_build(np.zeros((0, 60, 20, 3), np.float32), counting, SETTINGS)


def test_cache_keys_name_the_same_settings_as_before_completion_settings_were_one_object() -> None:
    """Banks built before the settings were grouped keep their cache keys: the flat description
    has the same fields and values as the old flat BankSettings (n_g 3, O 30, end, 20 steps)."""
    old_flat = {
        "n_g": 3, "observed": 30, "gap": "end", "steps": 20, "eta": 0.0, "seed": 0, "chunk": 64,
        "dtype": "float16", "start": 0.925, "temperature": 0.8, "refine": True,
    }  # fmt: skip
    grouped = BankSettings(CompletionSettings(n_g=3, observed=30, gap="end", steps=20))
    assert grouped.describe() == old_flat
