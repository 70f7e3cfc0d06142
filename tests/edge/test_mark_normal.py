"""Mark as normal without a server: an alert's stretches re-cut, a feedback behaviour per alert, undo,
and the camera overlay store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.feedback import FeedbackError, action_windows, add_windows, empty_overlay, remove_windows
from edge.overlays import affected_cameras, cameras_using, overlay_store, parse_target, target_name
from edge.profiles import Profile, ProfileError, ProfileStore
from models.preprocess import WindowSpec

SPEC = WindowSpec()


class _Projection:
    def __init__(self) -> None:
        self.name, self.spec, self.embedding_dim, self.model_version = "fake", SPEC, 8, "a"
        self.calibration_prior = None
        self._w = np.random.default_rng(0).normal(size=(60 * 20 * 3, 8)).astype(np.float32)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return windows.reshape(len(windows), -1) @ self._w


def _stream(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, 0.01, size=(int(seconds * SPEC.fps), 20, 3)), axis=0).astype(np.float32)


def _windows_at(frames: np.ndarray, starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    w = np.stack([frames[s : s + 60] for s in starts])
    t = np.array([(s / SPEC.fps, (s + 59) / SPEC.fps) for s in starts])
    return w, t


def test_overlapping_stored_windows_are_recut_along_the_stretch_they_cover() -> None:
    frames = _stream(12)
    w, t = _windows_at(frames, [0, 40, 80, 180])  # 0-99 contiguous, 180-239 on its own
    out = action_windows(w, t, SPEC, stride=5)
    starts = {int(np.argmin(np.abs(frames[:, 0, 0] - x[0, 0, 0]).reshape(-1))) for x in out}
    assert {0, 5, 10, 35, 40} <= starts  # every 5 frames along 0..99 (140 frames -> windows 0..80)
    assert max(s for s in starts if s < 180) == 80 and 180 in starts and 130 not in starts
    short = np.stack([frames[:60]])  # a short-segment window: its span is not 60 frames
    kept = action_windows(short, np.array([[0.0, 1.2]]), SPEC, stride=5)
    assert len(kept) == 1


def _profile() -> Profile:
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(6, 8)).astype(np.float32)
    meta = {
        "behaviours": [{"id": 0, "name": "walk", "kind": "enrolled", "sources": ["a", "b"]}],
        "model_version": "a",
    }
    return Profile("walk", 1, emb, np.repeat([0, 1], 3), np.zeros((6, 60, 20, 3), np.float32), 0.5, meta)


def test_each_alert_becomes_a_feedback_behaviour_and_undo_takes_it_out_again() -> None:
    backend = _Projection()
    base = _profile()
    a, b = _windows_at(_stream(6, 1), [0, 20])[0], _windows_at(_stream(6, 2), [0])[0]
    new = add_windows(base, [(11, a), (12, b)], backend, spec=SPEC, reviewer="ann")
    table = new.behaviour_table
    assert [(x["name"], x["kind"], x.get("alert_ids")) for x in table] == [
        ("walk", "enrolled", None), ("alert-11", "feedback", [11]), ("alert-12", "feedback", [12]),
    ]  # fmt: skip
    assert len(new.embeddings) == 6 + 3 and new.single_rows.tolist() == [False] * 6 + [True] * 3
    assert new.threshold == base.threshold and new.meta["feedback_groups"] == {"11": 2, "12": 3}
    with pytest.raises(FeedbackError, match="already"):
        add_windows(new, [(11, a)], backend, spec=SPEC, reviewer="ann")
    named = add_windows(new, [(13, b)], backend, spec=SPEC, reviewer="ann", behaviour="alert-12")
    assert [x["name"] for x in named.behaviour_table] == ["walk", "alert-11", "alert-12"]
    with pytest.raises(FeedbackError, match="enrolled"):
        add_windows(new, [(14, b)], backend, spec=SPEC, reviewer="ann", behaviour="walk")
    with pytest.raises(ProfileError, match="invalid behaviour name 'x/y'"):
        add_windows(new, [(14, b)], backend, spec=SPEC, reviewer="ann", behaviour="x/y")
    back = remove_windows(remove_windows(new, [12], backend, reviewer="ann"), [11], backend, reviewer="ann")
    np.testing.assert_array_equal(back.embeddings, base.embeddings)
    assert [x["name"] for x in back.behaviour_table] == ["walk"] and back.meta["feedback_groups"] == {}
    assert [f["action"] for f in back.meta["feedback"]] == ["normal", "undo", "undo"]


def test_a_camera_overlay_is_versioned_beside_its_profile_and_may_be_empty(tmp_path: Path) -> None:
    backend = _Projection()
    profiles = ProfileStore(tmp_path)
    base = profiles.save(_profile())
    store = overlay_store(profiles, "walk")
    v1 = store.save(add_windows(empty_overlay(base, "door"), [(5, _windows_at(_stream(6), [0])[0])], backend,
                                spec=SPEC, reviewer="ann"))  # fmt: skip
    assert (tmp_path / "walk" / "cameras" / "door" / "v0001.npz").is_file() and profiles.names() == ["walk"]
    assert store.load("door").single_rows.all() and profiles.load("walk").version == 1
    v2 = store.save(remove_windows(v1, [5], backend, reviewer="ann"))
    assert len(store.load("door").embeddings) == 0 and v2.version == 2


def test_scopes_name_the_cameras_they_change() -> None:
    streams = {"door": ["walk"], "dock": ["walk", "other"], "yard": ["other"], "gate": []}
    assert cameras_using("walk", streams) == ["dock", "door", "gate"]  # gate is scored against every profile
    assert affected_cameras("walk", "door", "camera", streams) == ["door"]
    assert affected_cameras("walk", "door", "all", streams) == ["dock", "door", "gate"]
    assert parse_target(target_name("walk", "door")) == ("walk", "door") and parse_target("walk") == (
        "walk",
        None,
    )


def test_the_worker_follows_a_cameras_overlay_and_scores_only_that_camera_with_it(tmp_path: Path) -> None:
    from config.edge import EdgeConfig
    from config.frontend import StreamConfig
    from edge import metrics
    from edge.worker import ProfileSet

    backend = _Projection()
    profiles = ProfileStore(tmp_path)
    base = profiles.save(_profile())
    cfg = EdgeConfig(streams=[StreamConfig(id="door", profiles=["walk"]), StreamConfig(id="dock", profiles=["walk"])],
                     profiles_dir=str(tmp_path))  # fmt: skip
    loaded = ProfileSet(cfg, backend, metrics)  # type: ignore[arg-type]
    assert loaded.refresh() and loaded.extra() == {} and not loaded.refresh()
    marked = _windows_at(_stream(6), [0])[0]
    overlay_store(profiles, "walk").save(
        add_windows(empty_overlay(base, "door"), [(5, marked)], backend, spec=SPEC, reviewer="ann")
    )
    assert loaded.refresh() and list(loaded.extra()) == [("door", "walk")]
    (tmp_path / "walk" / "cameras" / "door" / "v0001.npz").unlink()
    assert loaded.refresh() and loaded.extra() == {}
