"""The clip-set file: per-frame labels of continuous recordings, and labels that may be absent; either
clip file whatever the case of its suffix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clips import Clip, load_clips, load_clipset_file, save_clipset_file
from clips.files import ClipFileError


def _clip(n: int, name: str, labels: list[str] | None = None) -> Clip:
    rng = np.random.default_rng(n)
    frame_labels = None if labels is None else np.array(labels)
    return Clip(
        rng.normal(size=(n, 20, 3)).astype(np.float32), np.arange(n) / 30.0, "", "s1", name, frame_labels
    )


def test_frame_labels_round_trip_per_recording(tmp_path: Path) -> None:
    a = _clip(4, "a", ["walk", "walk", "", "punch"])
    b = _clip(3, "b", ["walk", "kick", "kick"])
    save_clipset_file(tmp_path / "rec.npz", [a, b])
    loaded = load_clipset_file(tmp_path / "rec.npz").clips
    assert [list(c.frame_labels) for c in loaded] == [["walk", "walk", "", "punch"], ["walk", "kick", "kick"]]  # type: ignore[arg-type]
    assert [c.label for c in loaded] == ["", ""]


def test_clips_without_frame_labels_load_as_before(tmp_path: Path) -> None:
    save_clipset_file(tmp_path / "plain.npz", [_clip(5, "a")])
    (clip,) = load_clipset_file(tmp_path / "plain.npz").clips
    assert clip.frame_labels is None


def test_labels_may_be_absent_and_frame_labels_must_cover_every_frame(tmp_path: Path) -> None:
    joints = np.zeros((6, 20, 3), np.float32)
    base = {
        "joints": joints,
        "offsets": np.array([0, 6]),
        "subjects": np.array(["s"]),
        "layout": np.array("kinect_v1"),
        "fps": np.array(30.0),
    }
    np.savez(tmp_path / "ok.npz", **base, frame_labels=np.array(["n"] * 6))
    (clip,) = load_clipset_file(tmp_path / "ok.npz").clips
    assert clip.label == "" and list(clip.frame_labels) == ["n"] * 6  # type: ignore[arg-type]
    np.savez(tmp_path / "bad.npz", **base, frame_labels=np.array(["n"] * 5))
    with pytest.raises(ClipFileError, match="frame_labels"):
        load_clipset_file(tmp_path / "bad.npz")


def test_clip_files_are_read_whatever_the_case_of_their_suffix(tmp_path: Path) -> None:
    save_clipset_file(tmp_path / "set.npz", [_clip(5, "a")])
    (tmp_path / "set.npz").rename(tmp_path / "SET.NPZ")
    np.save(tmp_path / "walk.npy", np.zeros((4, 20, 3), np.float32))
    (tmp_path / "walk.npy").rename(tmp_path / "WALK.NPY")
    assert [c.name for c in load_clips(tmp_path / "SET.NPZ")] == ["a"]
    assert [len(c.joints) for c in load_clips(tmp_path / "WALK.NPY")] == [4]
