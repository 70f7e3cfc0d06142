from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.profiles import Profile, ProfileError, ProfileStore, ProfileWatcher


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
    with pytest.raises(ProfileError, match="finite"):
        store.save(_profile(threshold=float("nan")))


def test_watcher_reports_new_and_changed_profiles_once(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    watcher = ProfileWatcher(store)
    assert watcher.poll() == ([], [])
    store.save(_profile())
    changed, _ = watcher.poll()
    assert [(p.name, p.version) for p in changed] == [("walk", 1)]
    assert watcher.poll() == ([], [])
    store.save(_profile(threshold=1.2))
    changed, _ = watcher.poll()
    assert [(p.name, p.version) for p in changed] == [("walk", 2)]


def test_watcher_reports_unreadable_profiles_as_failed(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.save(_profile())
    meta = json.loads((tmp_path / "walk" / "v0001.json").read_text())
    (tmp_path / "walk" / "v0001.npz").write_bytes(b"garbage")
    assert meta["threshold"] == pytest.approx(0.8)
    changed, failed = ProfileWatcher(store).poll()
    assert changed == [] and failed == ["walk"]
