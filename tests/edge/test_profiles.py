from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edge.profiles import Profile, ProfileError, ProfileStore, ProfileWatcher, check_name, profile_lock


def _profile(name: str = "walk", threshold: float = 0.8, seed: int = 0) -> Profile:
    rng = np.random.default_rng(seed)
    return Profile(
        name, 0, rng.normal(size=(6, 8)).astype(np.float32), np.repeat(np.arange(3), 2),
        rng.normal(size=(6, 60, 20, 3)).astype(np.float32), threshold, {"model_version": "abc"},
    )  # fmt: skip


def test_saving_assigns_increasing_versions_and_loads_back(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    first = store.save(_profile())
    second = store.save(_profile(threshold=0.9, seed=1))
    assert (first.version, second.version) == (1, 2)
    latest = store.load("walk")
    assert latest.version == 2 and latest.threshold == pytest.approx(0.9)
    np.testing.assert_array_equal(latest.embeddings, second.embeddings)
    assert store.load("walk", 1).threshold == pytest.approx(0.8)
    assert store.names() == ["walk"]


def test_half_written_version_is_invisible(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.save(_profile())
    (tmp_path / "walk" / "v0002.npz").write_bytes(b"partial")  # no JSON yet: not a version
    assert store.latest_version("walk") == 1


def test_bad_names_and_corrupt_files_give_clear_errors(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    with pytest.raises(ProfileError, match="invalid profile name"):
        store.save(_profile(name="../etc"))
    with pytest.raises(ProfileError, match="no profile named"):
        store.load("missing")
    store.save(_profile())
    (tmp_path / "walk" / "v0001.npz").write_bytes(b"garbage")
    with pytest.raises(ProfileError, match="unreadable"):
        store.load("walk")
    with pytest.raises(ProfileError, match="finite positive"):
        store.save(_profile(threshold=float("nan")))


@pytest.mark.parametrize("name", ["-x", ".", "..", "_walk"])
def test_a_name_of_allowed_characters_refused_for_its_first_one_says_so(name: str) -> None:
    # '-x' was refused with "use letters, digits, '.', '_' or '-' (max 64)": all it uses.
    with pytest.raises(ProfileError, match="starting with a letter or digit"):
        check_name(name)


def test_locking_a_profile_of_a_bad_name_makes_no_folder(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    with pytest.raises(ProfileError, match="invalid profile name"), profile_lock(store, "../outside"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_watcher_reports_new_and_changed_profiles_once(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    watcher = ProfileWatcher(store)
    assert watcher.poll() == ([], {}, [])
    store.save(_profile())
    changed, _, _ = watcher.poll()
    assert [(p.name, p.version) for p in changed] == [("walk", 1)]
    assert watcher.poll() == ([], {}, [])
    store.save(_profile(threshold=1.2))
    changed, _, _ = watcher.poll()
    assert [(p.name, p.version) for p in changed] == [("walk", 2)]


def test_watcher_reports_an_unreadable_version_once_and_retries_it_when_its_files_change(
    tmp_path: Path,
) -> None:
    store = ProfileStore(tmp_path)
    store.save(_profile())
    watcher = ProfileWatcher(store)
    watcher.poll()
    store.save(_profile(threshold=1.1))
    good = (tmp_path / "walk" / "v0002.npz").read_bytes()
    (tmp_path / "walk" / "v0002.npz").write_bytes(good[: len(good) // 2])  # a truncated new version
    changed, failed, _ = watcher.poll()
    assert changed == [] and list(failed) == ["walk"] and "v2" in failed["walk"]
    assert watcher.poll() == ([], {}, [])  # reported once, not every poll
    time.sleep(0.01)
    (tmp_path / "walk" / "v0002.npz").write_bytes(good)  # repaired
    changed, failed, _ = watcher.poll()
    assert [(p.name, p.version) for p in changed] == [("walk", 2)] and failed == {}


def test_watcher_notices_a_profile_that_vanished(tmp_path: Path) -> None:
    import shutil

    store = ProfileStore(tmp_path)
    store.save(_profile())
    watcher = ProfileWatcher(store)
    watcher.poll()
    shutil.rmtree(tmp_path / "walk")
    assert watcher.poll() == ([], {}, ["walk"])


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.with_suffix(".npz").write_bytes(b""),  # 0 bytes: EOFError inside numpy
        lambda p: p.with_suffix(".npz").write_bytes(p.with_suffix(".npz").read_bytes()[:300]),  # BadZipFile
        lambda p: p.with_suffix(".json").write_text("{}"),  # no threshold: KeyError
        lambda p: p.with_suffix(".json").write_text('{"threshold": [1]}'),  # TypeError
        lambda p: p.with_suffix(".json").write_text('{"threshold": NaN}'),
        lambda p: p.with_suffix(".json").write_text('{"threshold": -0.5}'),
        lambda p: p.with_suffix(".json").write_text("not json"),
    ],
)
def test_every_kind_of_damage_is_a_profile_error(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    store = ProfileStore(tmp_path)
    store.save(_profile())
    damage(tmp_path / "walk" / "v0001")
    with pytest.raises(ProfileError, match="walk v1"):
        store.load("walk")


def test_a_threshold_that_could_never_or_always_alert_is_refused(tmp_path: Path) -> None:
    for bad in (float("nan"), float("inf"), 0.0, -1.0):
        with pytest.raises(ProfileError, match="finite positive"):
            ProfileStore(tmp_path).save(_profile(threshold=bad))


class _Projection:
    """A stand-in encoder: a fixed random projection of the flattened window."""

    def __init__(self, version: str, seed: int) -> None:
        from models.preprocess import WindowSpec

        self.name, self.spec, self.embedding_dim, self.model_version = "fake", WindowSpec(), 8, version
        self._w = np.random.default_rng(seed).normal(size=(60 * 20 * 3, 8)).astype(np.float32)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return windows.reshape(len(windows), -1) @ self._w


def test_one_clip_profile_keeps_its_calibration_windows_and_recalibrates_on_them(tmp_path: Path) -> None:
    """A re-embedding (another encoder) calibrates a one-clip profile on the halves it was enrolled
    with, not on its few support windows."""
    from clips import Clip
    from config.worker import CalibrationConfig
    from edge.enroll import build_profile, reembed

    rng = np.random.default_rng(5)
    t = np.arange(240) / 30.0  # 8 s
    joints = np.cumsum(rng.normal(0, 0.01, size=(240, 20, 3)), axis=0).astype(np.float32) + rng.normal(
        size=(1, 20, 3)
    ).astype(np.float32)
    built = build_profile(
        "one", [Clip(joints, t, name="c")], _Projection("a", 0), calibration=CalibrationConfig()
    )
    assert built.calibration_windows is not None and built.meta["calibration"]["method"] == "split_halves"
    saved = ProfileStore(tmp_path).save(built)
    loaded = ProfileStore(tmp_path).load("one")
    np.testing.assert_allclose(loaded.calibration_windows, saved.calibration_windows, atol=1e-2)  # float16
    np.testing.assert_array_equal(loaded.calibration_groups, saved.calibration_groups)
    again = reembed(loaded, _Projection("b", 1), CalibrationConfig())
    cal = again.meta["calibration"]
    assert again.model_version == "b" and cal["method"] == "split_halves"
    assert cal["n_scores"] == len(loaded.calibration_windows) and again.threshold != loaded.threshold
    assert reembed(loaded, _Projection("a", 0), CalibrationConfig()) is loaded  # same model: unchanged


def test_a_killed_saves_temporary_files_go_with_the_next_save_overlays_too(tmp_path: Path) -> None:
    """A save killed amid its write leaves a whole version's arrays in a temporary file, the profile's
    or a camera overlay's (feedback for one camera): the next writer of the profile removes both."""
    from edge.overlays import OVERLAYS_DIR

    store = ProfileStore(tmp_path)
    profile_dir = tmp_path / "ward"
    overlay_dir = profile_dir / OVERLAYS_DIR / "door"
    overlay_dir.mkdir(parents=True)
    left = [profile_dir / ".v0002.npz.k3j.tmp", overlay_dir / ".v0001.npz.x9q.tmp"]
    kept = overlay_dir / "v0001.json"
    for f in [*left, kept]:
        f.write_bytes(b"PK\x03\x04 half")
    with profile_lock(store, "ward"):
        pass
    assert not any(f.exists() for f in left) and kept.exists()
