"""Profiles of several behaviours: enrolment by label or by name, adding a behaviour as a new version,
the on-disk format (old profiles still load) and honest version metadata."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from clips import Clip
from config.worker import CalibrationConfig
from edge.enroll import build_profile
from edge.profiles import Profile, ProfileError, ProfileStore
from models.calibration_prior import CalibrationPrior
from models.preprocess import WindowSpec


class _Projection:
    """A stand-in encoder: a fixed random projection of the flattened window."""

    def __init__(self, version: str = "a", seed: int = 0) -> None:
        self.name, self.spec, self.embedding_dim, self.model_version = "fake", WindowSpec(), 8, version
        self.calibration_prior: CalibrationPrior | None = None
        self._w = np.random.default_rng(seed).normal(size=(60 * 20 * 3, 8)).astype(np.float32)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return windows.reshape(len(windows), -1) @ self._w


def _clip(seed: int, seconds: float, label: str = "", name: str | None = None) -> Clip:
    rng = np.random.default_rng(seed)
    n = int(seconds * 30)
    joints = np.cumsum(rng.normal(0, 0.01, size=(n, 20, 3)), axis=0).astype(np.float32)
    joints += rng.normal(size=(1, 20, 3)).astype(np.float32)
    return Clip(joints, np.arange(n) / 30.0, label, name=name or f"{label or 'clip'}-{seed}")


def _build(clips: list[Clip], **kw: object) -> Profile:
    return build_profile("shop", clips, _Projection(), calibration=CalibrationConfig(), **kw)  # type: ignore[arg-type]


def test_a_clip_set_of_several_labels_enrols_one_behaviour_per_label(tmp_path: Path) -> None:
    built = _build([_clip(1, 5, "walk"), _clip(2, 5, "walk"), _clip(3, 8, "sit")])
    table = {b["name"]: b for b in built.behaviour_table}
    assert sorted(table) == ["sit", "walk"] and {b["kind"] for b in table.values()} == {"enrolled"}
    assert table["walk"]["sources"] == ["walk-1", "walk-2"] and table["sit"]["sources"] == ["sit-3"]
    ids = built.behaviour_ids
    assert set(ids.tolist()) == {table["walk"]["id"], table["sit"]["id"]}
    # sit has one clip: it calibrates on that clip's halves, walk leave-one-clip-out
    assert built.calibration_windows is not None
    assert set(built.calibration_behaviour_ids.tolist()) == {table["sit"]["id"]}
    cal = built.meta["calibration"]
    assert cal["method"] == "leave_one_clip_out" and cal["n_clips"] == 3
    assert any(w.startswith("behaviour 'sit': the threshold comes from one clip") for w in cal["warnings"])
    loaded = ProfileStore(tmp_path).load(ProfileStore(tmp_path).save(built).name)
    np.testing.assert_array_equal(loaded.behaviour_ids, ids)
    np.testing.assert_array_equal(loaded.calibration_behaviour_ids, built.calibration_behaviour_ids)
    assert [b["name"] for b in loaded.behaviour_table] == [b["name"] for b in built.behaviour_table]


def test_a_behaviour_name_outside_the_name_rule_or_empty_is_refused() -> None:
    for name in ("bad/name", "", "walk\n"):
        with pytest.raises(ProfileError, match=re.escape(f"invalid behaviour name {name!r}")):
            _build([_clip(1, 5), _clip(2, 5)], behaviour=name)


def test_a_named_behaviour_joins_an_existing_profile_as_its_next_version(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    v1 = store.save(_build([_clip(1, 5), _clip(2, 5)]))
    assert [b["name"] for b in v1.behaviour_table] == ["normal"]
    v2 = store.save(_build([_clip(3, 8, name="sit-a")], behaviour="sitting", base=v1))
    assert v2.version == 2 and [b["name"] for b in v2.behaviour_table] == ["normal", "sitting"]
    n1 = len(v1.embeddings)
    np.testing.assert_allclose(v2.embeddings[:n1], v1.embeddings)  # the old rows stay as they were
    assert (v2.behaviour_ids[n1:] == 1).all() and (v2.behaviour_ids[:n1] == 0).all()
    assert len(np.unique(v2.groups)) == 3 and v2.meta["sources"][-1] == "sit-a"
    # a second clip of sitting joins it: now it is calibrated leave-one-clip-out, its halves go
    v3 = store.save(_build([_clip(4, 5, name="sit-b")], behaviour="sitting", base=v2))
    assert [b["name"] for b in v3.behaviour_table] == ["normal", "sitting"]
    assert v3.behaviour_table[1]["sources"] == ["sit-a", "sit-b"] and v3.calibration_windows is None
    assert not any("comes from one clip" in w for w in v3.meta["calibration"]["warnings"])


def test_a_lone_clip_of_a_new_behaviour_must_be_long_enough_to_split() -> None:
    v1 = _build([_clip(1, 5), _clip(2, 5)])
    with pytest.raises(ValueError, match="cannot set a threshold"):
        _build([_clip(3, 1.5)], behaviour="sitting", base=v1)


def test_versions_record_their_own_creation_time_window_count_and_readable_mode(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    v1 = store.save(_build([_clip(1, 5), _clip(2, 5)]))
    stale = {**v1.meta, "created_at": "2000-01-01T00:00:00+00:00", "support_windows": 1}
    v2 = store.save(
        Profile(
            "shop",
            1,
            np.concatenate([v1.embeddings, v1.embeddings[:2]]),
            np.concatenate([v1.groups, [9, 9]]),
            np.concatenate([v1.windows, v1.windows[:2]]),
            v1.threshold,
            stale,
        )  # fmt: skip
    )
    meta = json.loads((tmp_path / "shop" / "v0002.json").read_text())
    assert meta["created_at"] > "2000" and meta["created_at"] >= v1.meta["created_at"]
    assert meta["support_windows"] == len(v2.windows) == len(v1.windows) + 2
    for name in ("v0001.npz", "v0001.json", "v0002.npz", "v0002.json"):
        assert os.stat(tmp_path / "shop" / name).st_mode & 0o777 == 0o644


def test_a_profile_from_before_behaviours_loads_as_one_behaviour(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savez_compressed(
        folder / "v0001.npz", embeddings=rng.normal(size=(8, 4)).astype(np.float32), groups=np.repeat(np.arange(2), 4),
        windows=np.zeros((8, 60, 20, 3), np.float16),
    )  # fmt: skip
    meta = {"threshold": 0.5, "sources": ["a", "b"], "support_windows": 8, "augmentation": {"n_g": 3}}
    (folder / "v0001.json").write_text(json.dumps(meta))
    old = ProfileStore(tmp_path).load("old")
    assert old.behaviour_table == [{"id": 0, "name": "normal", "kind": "enrolled", "sources": ["a", "b"]}]
    assert (old.behaviour_ids == 0).all() and old.enrolled_rows.all() and not old.single_rows.any()
    assert old.generated_rows.tolist() == [False, False] + [True] * 6  # 2 real windows, 3 variants each


def test_support_rows_of_a_behaviour_the_table_does_not_name_are_refused(tmp_path: Path) -> None:
    built = _build([_clip(1, 5), _clip(2, 5)])
    bad = Profile(built.name, 0, built.embeddings, built.groups, built.windows, built.threshold, built.meta,
                  behaviours=np.full(len(built.embeddings), 7))  # fmt: skip
    with pytest.raises(ProfileError, match="does not name"):
        ProfileStore(tmp_path).save(bad)
    feedback_only = {**built.meta, "behaviours": [{"id": 0, "name": "x", "kind": "feedback"}]}
    with pytest.raises(ProfileError, match="no enrolled behaviour"):
        ProfileStore(tmp_path).save(
            Profile("p", 0, built.embeddings, built.groups, built.windows, 1.0, feedback_only)
        )


def test_a_behaviour_of_many_clips_is_measured_the_prior_s_way_at_enrolment() -> None:
    backend = _Projection()
    backend.calibration_prior = CalibrationPrior("a", (0.05,), (1e-3,), {"shots": 3, "seeds": 10})
    clips = [_clip(s, 5, "walk") for s in range(6)] + [_clip(s, 5, "sit") for s in range(10, 13)]
    built = build_profile("shop", clips, backend, calibration=CalibrationConfig())  # type: ignore[arg-type]
    cal = built.meta["calibration"]
    # walk (6 clips) is measured, sit (3 clips) is not; the larger estimate sets the threshold
    assert cal["enrolment_kappa"] is not None and built.threshold >= cal["enrolment_kappa"] > 1e-3
    few = build_profile("shop", clips[3:], backend, calibration=CalibrationConfig())  # type: ignore[arg-type]
    assert few.meta["calibration"]["enrolment_kappa"] is None
