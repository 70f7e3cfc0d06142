"""Enrolment (edge/enroll.py): support-set augmentation (HumanMAC completions join the support windows,
Algorithm 2), and which clips count."""

from __future__ import annotations

import numpy as np
import pytest

from config.backend import OnnxRuntimeConfig
from config.completions import CompletionSettings
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import Augmentation, augment_support, build_profile
from models.humanmac import HumanMAC


def aug(model: HumanMAC, n_g: int, *, seed: int = 0, **completion: object) -> Augmentation:
    return Augmentation(model, CompletionSettings(n_g=n_g, **completion), seed=seed)  # type: ignore[arg-type]


def support(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.cumsum(rng.normal(0.0, 0.03, size=(n, 60, 20, 3)), axis=1).astype(np.float32)


def test_originals_come_first_and_groups_name_the_source_window(tiny_humanmac: HumanMAC) -> None:
    s = support(3)
    out, groups = augment_support(
        s, aug(tiny_humanmac, 4, observed=30, gap="end", steps=3)
    )  # the paper's form
    assert out.shape == (15, 60, 20, 3) and groups.shape == (15,)
    assert np.array_equal(out[:3], s)
    assert groups.tolist() == [0, 1, 2] + [0] * 4 + [1] * 4 + [2] * 4
    for k in range(3, 15):  # each variant continues the first 30 frames of its own source window
        assert np.array_equal(out[k, :30], s[groups[k], :30])
    assert not np.allclose(out[3:7, 30:], np.repeat(s[:1, 30:], 4, axis=0))


def test_middle_gap_variants_keep_both_ends_of_their_source(tiny_humanmac: HumanMAC) -> None:
    s = support(2)
    out, groups = augment_support(s, aug(tiny_humanmac, 3, observed=40, gap="middle", steps=3))
    ends = np.r_[0:20, 40:60]
    for k in range(2, 8):
        assert np.array_equal(out[k, ends], s[groups[k], ends])
    assert not np.allclose(out[2:5, 20:40], np.repeat(s[:1, 20:40], 3, axis=0))


def test_same_seed_same_support(tiny_humanmac: HumanMAC) -> None:
    s = support(2)
    a, _ = augment_support(s, aug(tiny_humanmac, 2, steps=3, seed=5))
    b, _ = augment_support(s, aug(tiny_humanmac, 2, steps=3, seed=5))
    c, _ = augment_support(s, aug(tiny_humanmac, 2, steps=3, seed=6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# --- clips given twice, or enrolled before -----------------------------------------------------


def test_a_clip_given_twice_or_enrolled_before_is_left_out_not_counted_twice(kinder_gator) -> None:  # type: ignore[no-untyped-def]
    """A twin would be scored against as another recording: calibration would see normal vary less
    than it does, and one clip given twice would escape the one-clip rule."""
    walks = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3]
    backend = make_backend(OnnxRuntimeConfig())
    calibration = WorkerConfig().calibration
    profile = build_profile("ward", [*walks, walks[0]], backend, calibration=calibration)
    assert profile.meta["sources"] == [c.name for c in walks]
    assert profile.meta["calibration"]["n_clips"] == 3
    assert profile.meta["skipped"] == {
        walks[0].name: f"given twice (the same skeleton as clip {walks[0].name})"
    }
    with pytest.raises(
        ValueError, match=r"no usable clip to enrol \(.*already enrolled in profile ward \(Walk-in-place\)"
    ):
        build_profile(
            "ward", walks, backend, calibration=calibration, behaviour="Walk-in-place", base=profile
        )


def test_a_clip_whose_joints_fly_off_is_left_out_not_saved_as_infinite_windows(  # type: ignore[no-untyped-def]
    kinder_gator, tmp_path
) -> None:
    """One joint at 1e30 (a glitch) made windows past float16's range: the saved profile held
    infinite windows (NaN once re-embedded) and a threshold raised by them."""
    from clips import Clip
    from edge.profiles import ProfileStore

    walks = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3]
    glitch = walks[2].joints.copy()
    glitch[:, 3] = 1e30
    clips = [*walks[:2], Clip(glitch, walks[2].times, walks[2].label, name="glitch")]
    backend = make_backend(OnnxRuntimeConfig())
    profile = build_profile("ward", clips, backend, calibration=WorkerConfig().calibration)
    assert profile.meta["sources"] == [c.name for c in walks[:2]]
    assert "torso lengths from the skeleton's root" in profile.meta["skipped"]["glitch"]
    ProfileStore(tmp_path).save(profile)
    assert np.isfinite(ProfileStore(tmp_path).load("ward").windows).all()
