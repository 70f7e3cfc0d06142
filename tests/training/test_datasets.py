from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from clips import Clip
from clips.files import ClipFileError, load_clipset_file, save_clipset_file
from training.datasets import load_dataset
from training.datasets.utkinect import parse_labels


def test_loaders_find_every_clip(data_root: Path) -> None:
    kg = load_dataset("kinder-gator", data_root)
    assert (len(kg), len(kg.labels), len(kg.subjects)) == (1159, 58, 20)
    msr = load_dataset("msr", data_root)
    assert len(msr) + sum(msr.dropped.values()) == 567 and len(msr.labels) == 20
    for c in msr.clips:  # all-zero (untracked) frames are gone, timestamps still increase
        assert np.abs(c.joints).sum(axis=(1, 2)).min() > 0
        assert np.all(np.diff(c.times) > 0)
    utk = load_dataset("utkinect", data_root)
    assert len(utk) == 199 and utk.dropped == {"unannotated (NaN) segment": 1}
    nw = load_dataset("nw-ucla", data_root)
    assert (len(nw), len(nw.labels), len(nw.subjects), nw.views) == (1484, 10, 10, ["v1", "v2", "v3"])


def test_nw_ucla_lost_joints_are_missing_and_time_runs_at_15_fps(data_root: Path) -> None:
    nw = load_dataset("nw-ucla", data_root)
    lost = [c for c in nw.clips if np.isnan(c.joints).any()]
    assert lost and all(np.nanmin(c.joints[..., 2]) > 0 for c in lost)  # z = 0 became NaN, nothing else
    walks = [c for c in nw.clips if c.label == "walk_around" and not np.isnan(c.joints).any()]
    speed = np.median([np.linalg.norm(np.diff(c.joints[:, 0, [0, 2]], axis=0), axis=1).sum() / c.duration_s
                       for c in walks])  # fmt: skip
    assert 0.6 < speed < 1.5  # an unhurried walk in m/s; at the file's nominal 30 fps it would be a run


def test_utkinect_label_parser_rejects_garbage() -> None:
    assert parse_labels("s01_e01\nwalk: 1 5\ncarry:  NaN NaN\n")["s01_e01"][0] == ("walk", 1.0, 5.0)
    with pytest.raises(ValueError, match="unexpected line"):
        parse_labels("walk: 1 5\n")


def test_clipset_file_round_trip(tmp_path: Path, data_root: Path) -> None:
    clips = load_dataset("utkinect", data_root).clips[:5]
    path = tmp_path / "mine.npz"
    save_clipset_file(path, clips)
    back = load_dataset(str(path))
    assert [c.label for c in back.clips] == [c.label for c in clips]
    for a, b in zip(back.clips, clips, strict=True):
        np.testing.assert_array_equal(a.joints, b.joints)
        np.testing.assert_array_equal(a.times, b.times)
    assert load_dataset(str(path)).views == []  # one camera: no views key written
    views = load_dataset("nw-ucla", data_root).clips[:4]
    save_clipset_file(tmp_path / "views.npz", views)
    assert [c.view for c in load_dataset(str(tmp_path / "views.npz")).clips] == [c.view for c in views]


def test_a_clip_set_file_is_a_dataset_whatever_the_case_of_its_suffix(tmp_path: Path) -> None:
    # haad eval fewshot --dataset MINE.NPZ (a file copied from Windows) said 'unknown dataset', though
    # haad eval stream --recordings and haad enroll read the same file.
    joints = np.random.default_rng(0).normal(size=(40, 20, 3)).astype(np.float32)
    path = tmp_path / "MINE.NPZ"
    with path.open("wb") as f:  # np.savez would add ".npz" to a name ending otherwise
        np.savez(f, joints=joints, offsets=[0, 20, 40], labels=["a", "b"], subjects=["p", "q"],
                 layout="kinect_v1", fps=30.0)  # fmt: skip
    assert load_dataset(str(path)).labels == ["a", "b"]


def test_a_folder_or_a_gzip_file_given_as_a_dataset_is_said_to_be_one(tmp_path: Path) -> None:
    # Both were 'unknown dataset ...: use one of kinder-gator, ... or a path to a clip-set .npz', as if
    # the path were not there.
    joints = np.random.default_rng(0).normal(size=(20, 20, 3)).astype(np.float32)
    save_clipset_file(tmp_path / "mine.npz", [Clip(joints, np.arange(20) / 30, "a", "p", "one")])
    with pytest.raises(ClipFileError, match=r"is a folder, not a clip-set file: give its mine.npz"):
        load_dataset(str(tmp_path))
    (tmp_path / "mine.npz.gz").write_bytes(gzip.compress((tmp_path / "mine.npz").read_bytes()))
    with pytest.raises(
        ClipFileError, match=r"mine.npz.gz is not a readable clip-set .npz: it is gzip-compressed"
    ):
        load_dataset(str(tmp_path / "mine.npz.gz"))


def test_clipset_file_with_mediapipe_layout_and_fps(tmp_path: Path) -> None:
    path = tmp_path / "mp.npz"
    np.savez(
        path,
        joints=np.random.default_rng(0).normal(size=(30, 33, 3)).astype(np.float32),
        offsets=np.array([0, 10, 30]),
        labels=np.array(["a", "b"]),
        subjects=np.array(["x", "y"]),
        layout=np.array("mediapipe33"),
        fps=np.array(30.0),
    )
    cs = load_clipset_file(path)
    assert cs.clips[1].joints.shape == (20, 20, 3)
    np.testing.assert_allclose(cs.clips[1].times[:2], [0.0, 1 / 30])


@pytest.mark.parametrize(
    "content,match",
    [
        ({"joints": np.zeros((4, 20, 3))}, "lacks"),
        (dict(joints=np.zeros((4, 20, 3)), offsets=np.array([0, 4]), labels=np.array(["a"]),
              subjects=np.array(["s"]), layout=np.array("openpose"), fps=np.array(30.0)), "unknown layout"),
        (dict(joints=np.zeros((4, 20, 3)), offsets=np.array([0, 5]), labels=np.array(["a"]),
              subjects=np.array(["s"]), layout=np.array("kinect_v1"), fps=np.array(30.0)), "offsets"),
        (dict(joints=np.zeros((4, 20, 3)), offsets=np.array([0, 4]), labels=np.array(["a"]),
              subjects=np.array(["s"]), layout=np.array("kinect_v1")), "fps"),
        (dict(joints=np.zeros((4, 17, 3)), offsets=np.array([0, 4]), labels=np.array(["a"]),
              subjects=np.array(["s"]), layout=np.array("kinect_v1"), fps=np.array(30.0)), "shape"),
    ],
)  # fmt: skip
def test_malformed_clipset_files_give_clear_errors(tmp_path: Path, content: dict, match: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **content)
    with pytest.raises(ValueError, match=match):
        load_clipset_file(path)


def test_not_an_npz_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable clip-set"):
        load_clipset_file(path)
