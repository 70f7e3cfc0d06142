"""The clip-set file: per-frame labels of continuous recordings, and labels that may be absent; either
clip file whatever the case of its suffix."""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from clips import Clip, load_clips, load_clipset_file, save_clipset_file
from clips.files import ClipFileError
from models.preprocess import WindowSpec, clip_frames


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


def _raw(tmp_path: Path, name: str, **arrays: np.ndarray | None) -> Path:
    base = {
        "joints": np.zeros((6, 20, 3), np.float32),
        "offsets": np.array([0, 3, 6]),
        "labels": np.array(["walk", "kick"]),
        "subjects": np.array(["s1", "s2"]),
        "names": np.array(["a", "b"]),
        "layout": np.array("kinect_v1"),
        "timestamps": np.array([0.0, 0.05, 0.1, 0.0, 0.05, 0.1]),
    }
    np.savez(tmp_path / name, **{k: v for k, v in {**base, **arrays}.items() if v is not None})
    return tmp_path / name


def test_byte_string_and_padded_labels_read_as_the_text_they_hold(tmp_path: Path) -> None:
    # np.array of bytes is how some writers store text; "walk " in one file is "walk" in the others.
    path = _raw(
        tmp_path, "bytes.npz", labels=np.array([b"walk", b"kick "]), subjects=np.array([7, 8]),
        frame_labels=np.array([b"walk", b" walk", b"walk", b"kick", b"kick", b"walk "]),
    )  # fmt: skip
    a, b = load_clipset_file(path).clips
    assert (a.label, b.label, a.subject, b.subject) == ("walk", "kick", "7", "8")
    assert list(b.frame_labels) == ["kick", "kick", "walk"] and list(a.frame_labels) == ["walk"] * 3  # type: ignore[arg-type]


def test_timestamps_that_go_back_or_are_not_seconds_are_refused_by_name(tmp_path: Path) -> None:
    back = _raw(tmp_path, "back.npz", timestamps=np.array([0.0, 0.05, 0.1, 5.0, 0.0, 0.05]))
    with pytest.raises(ClipFileError, match=r"clip b: time goes back at frame 1"):
        load_clipset_file(back)
    ms = _raw(tmp_path, "ms.npz", timestamps=np.array([0.0, 50.0, 100.0, 0.0, 50.0, 100.0]))
    with pytest.raises(ClipFileError, match="milliseconds"):
        load_clipset_file(ms)
    # a clock that starts anywhere (epoch seconds) is fine
    assert (
        len(load_clipset_file(_raw(tmp_path, "epoch.npz", timestamps=1.7e9 + np.arange(6) * 0.05)).clips) == 2
    )


@pytest.mark.parametrize(
    ("flip", "turned"),
    [
        ((1, 1, 1), (1, 1, 1)),  # canonical: untouched
        ((1, -1, -1), (1, 1, 1)),  # camera coordinates (y down, right-handed): turned upright
        ((-1, 1, 1), (1, 1, 1)),  # left-handed (y up): mirrored back
        ((1, -1, 1), (-1, 1, -1)),  # y down and left-handed: upright and unmirrored, facing the other way
    ],
    ids=["canonical", "y-down", "left-handed", "y-down-left-handed"],
)
def test_a_file_exported_upside_down_or_mirrored_is_turned_canonical(
    tmp_path: Path, flip: tuple[int, int, int], turned: tuple[int, int, int]
) -> None:
    # Read as they were, y-down recordings scored 0.46 frame AUC and never alerted (0.91 upright).
    from pose_frontend.synthetic import SyntheticPerformer

    frames = np.stack(
        [f for _, f in SyntheticPerformer([("walk_in_place", 3.0), ("jump_flail", 2.0)], fps=20)]
    )
    path = _raw(
        tmp_path, "export.npz", joints=frames * np.array(flip, np.float32), offsets=np.array([0, 60, len(frames)]),
        timestamps=np.concatenate([np.arange(60), np.arange(len(frames) - 60)]) / 20.0,
    )  # fmt: skip
    loaded = np.concatenate([c.joints for c in load_clipset_file(path).clips])
    np.testing.assert_allclose(loaded, frames * np.array(turned, np.float32), atol=1e-6)


@pytest.mark.parametrize(
    ("key", "strings"),
    [
        ("joints", np.full((6, 20, 3), "0.1")),
        ("offsets", np.array(["0", "3", "6"])),
        ("timestamps", np.array(["0", "0.05", "0.1", "0", "0.05", "0.1"])),
    ],
)
def test_numbers_stored_as_strings_are_refused_naming_the_file_and_array(
    tmp_path: Path, key: str, strings: np.ndarray
) -> None:
    path = _raw(tmp_path, "text.npz", **{key: strings})
    with pytest.raises(ClipFileError, match=rf"text.npz: {key} must be numbers .*; got <U"):
        load_clipset_file(path)


def test_text_kept_as_python_objects_is_refused_naming_the_array_and_the_fix(tmp_path: Path) -> None:
    # np.array(df["label"]) or a list holding None saves dtype=object (pickled), which is never read;
    # numpy's own message named neither the array nor what to write instead.
    path = _raw(tmp_path, "objects.npz", frame_labels=np.array(["walk", None, "walk", "kick", "", "walk"], object),
                extra=np.array([{"camera": 1}], object))  # fmt: skip
    with pytest.raises(ClipFileError, match=r"objects.npz: frame_labels: dtype=object .*dtype=str"):
        load_clipset_file(path)
    # an object array under a key haad does not read is left alone
    extra_only = _raw(tmp_path, "extra.npz", extra=np.array([{"camera": 1}], object))
    assert len(load_clipset_file(extra_only).clips) == 2


def test_fps_may_be_one_per_clip(tmp_path: Path) -> None:
    # Recordings from cameras at different rates; a (clips,) fps array raised a bare TypeError.
    path = _raw(tmp_path, "rates.npz", timestamps=None, fps=np.array([30.0, 15.0]))
    a, b = load_clipset_file(path).clips
    np.testing.assert_allclose(a.times, np.arange(3) / 30.0)
    np.testing.assert_allclose(b.times, np.arange(3) / 15.0)
    for bad in (np.array([30.0, 0.0]), np.array([30.0, 15.0, 25.0])):
        with pytest.raises(ClipFileError, match=r"fps must be one positive number or one per clip \(2\)"):
            load_clipset_file(_raw(tmp_path, "bad.npz", timestamps=None, fps=bad))


@pytest.mark.parametrize(
    "times",
    [
        (1.7e9 + np.arange(6) * 0.05).astype(np.float32),  # Unix seconds in float32: 128 s steps
        np.array([0, 0, 0, 1, 1, 1]),  # whole seconds
    ],
    ids=["unix-float32", "whole-seconds"],
)
def test_timestamps_that_repeat_in_most_frames_are_refused_in_words(
    tmp_path: Path, times: np.ndarray
) -> None:
    # The reader drops a frame whose time does not rise: such a file lost nearly all its frames and was
    # then said to hold "0.05 s of skeleton", or taken for milliseconds.
    path = _raw(tmp_path, "repeats.npz", timestamps=times)
    with pytest.raises(ClipFileError, match=r"clip a: 2 of 3 frames have the time of the frame before"):
        load_clipset_file(path)


def test_frame_labels_may_be_numbers(tmp_path: Path) -> None:
    # labels and subjects already read numbers as text; frame labels 0/1 were refused as not strings.
    path = _raw(tmp_path, "numbers.npz", frame_labels=np.array([0, 0, 1, 0, 2, 2]))
    a, b = load_clipset_file(path).clips
    assert list(a.frame_labels) == ["0", "0", "1"] and list(b.frame_labels) == ["0", "2", "2"]  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", [np.array(b"kinect_v1"), np.array(["kinect_v1"])], ids=["bytes", "list"])
def test_layout_may_be_bytes_or_a_one_element_array(tmp_path: Path, layout: np.ndarray) -> None:
    assert len(load_clipset_file(_raw(tmp_path, "layout.npz", layout=layout)).clips) == 2


def test_kinect_v2_files_keep_its_twenty_kinect_v1_joints(tmp_path: Path) -> None:
    # Kinect v2 / NTU RGB+D skeletons (25 joints) were refused as an unknown layout. v1's
    # ShoulderCenter is v2's SpineShoulder (20), not its Neck (2); the hand tips and thumbs go.
    v1 = np.random.default_rng(0).normal(size=(6, 20, 3)).astype(np.float32)
    v2 = np.concatenate([v1, np.zeros((6, 5, 3), np.float32)], axis=1)
    v2[:, 20], v2[:, 2] = v1[:, 2], 9.0
    loaded = load_clipset_file(_raw(tmp_path, "v2.npz", joints=v2, layout=np.array("kinect_v2"))).clips
    np.testing.assert_array_equal(np.concatenate([c.joints for c in loaded]), v1)


@pytest.mark.parametrize(
    ("joints", "layout", "hint"),
    [((6, 25, 3), "kinect_v1", "25 joints: layout kinect_v2?"), ((6, 33, 3), "kinect_v1", "33 joints: layout mediapipe33?"),
     ((6, 20, 3), "kinect_v2", "20 joints: layout kinect_v1 or msr_action3d?")],
    ids=["v2-as-v1", "mediapipe-as-v1", "v1-as-v2"],
)  # fmt: skip
def test_joints_of_another_layout_than_the_file_says_name_the_layout_they_fit(
    tmp_path: Path, joints: tuple[int, int, int], layout: str, hint: str
) -> None:
    # A Kinect v2 export saved with layout "kinect_v1" said only 'kinect_v1 skeletons must have shape
    # (..., 20, 3)'; a .npy given the wrong --layout already named the one its joint count fits.
    path = _raw(tmp_path, "other.npz", joints=np.zeros(joints, np.float32), layout=np.array(layout))
    with pytest.raises(ClipFileError, match=rf"other.npz: .*; {re.escape(hint)}"):
        load_clipset_file(path)


@pytest.mark.parametrize(
    ("arrays", "says"),
    [({"offsets": None}, "lacks offsets (where each clip starts and ends, [0, 6] for one clip of 6 frames)"),
     ({"subjects": None}, 'lacks subjects (who is in each clip, "" where not known)'),
     ({"layout": None}, "lacks layout (kinect_v1, kinect_v2, mediapipe33, msr_action3d or smpl24)"),
     ({"labels": np.array(["walk"] * 3 + ["kick"] * 3)},
      "labels: 6 entries, one per frame, not per clip (2): labels of each frame go in frame_labels"),
     ({"subjects": np.array(["s1"] * 6)}, "subjects: 6 entries, one per frame, not per clip (2): one subject per clip"),
     ({"joints": np.zeros((6, 60), np.float32)}, "joints: (frames, joints, 3); got (6, 60): joints.reshape(6, 20, 3)?"),
     ({"joints": np.zeros((2, 3, 20, 3), np.float32)}, "joints: (frames, joints, 3); got (2, 3, 20, 3): 2 clips of 3 "
      "frames? joints.reshape(-1, 20, 3), offsets np.arange(3) * 3 (padding frames of every joint at 0 are read as missing)")],
    ids=["no-offsets", "no-subjects", "no-layout", "labels-per-frame", "subjects-per-frame", "flat-joints",
         "a-padded-array-per-clip"],
)  # fmt: skip
def test_a_key_missing_or_of_the_wrong_shape_is_refused_saying_what_it_holds(
    tmp_path: Path, arrays: dict[str, np.ndarray | None], says: str
) -> None:
    # A third party's likeliest slips drew 'lacks ['offsets'] (see clips/files.py)', a source file an
    # installed product's user does not have, and, for labels given per frame, 'offsets, labels and
    # subjects disagree on the number of clips'.
    with pytest.raises(ClipFileError) as e:
        load_clipset_file(_raw(tmp_path, "slip.npz", **arrays))
    assert says in str(e.value)
    assert "clips/files.py" not in str(e.value)


def test_repeated_or_blank_clip_names_are_made_unique_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Names key the clips: with one name for every recording (names=["session"] * 6), haad eval stream
    # --recordings enrolled every recording against the first one's profile, whose support held the
    # others' own runs: frame AUC 0.960 rose to 0.975, raw-DCT precision 0.86 to 1.00, silently.
    path = _raw(tmp_path, "repeat.npz", joints=np.zeros((9, 20, 3), np.float32), offsets=np.array([0, 3, 6, 9]),
                labels=np.array(["a", "b", "c"]), subjects=np.array(["p", "q", "r"]), timestamps=np.tile([0.0, 0.05, 0.1], 3),
                names=np.array(["session", "session", ""]))  # fmt: skip
    with caplog.at_level("WARNING"):
        names = [c.name for c in load_clipset_file(path).clips]
    assert names == ["session:0", "session:1", "repeat:2"]
    assert "2 clip names repeat and 1 is blank" in caplog.text
    with pytest.raises(ClipFileError, match=r"names: one per clip \(3\); got 2"):
        load_clipset_file(_raw(tmp_path, "short.npz", names=np.array(["x", "y"]), offsets=np.array([0, 2, 4, 6]),
                               labels=np.array(["a", "b", "c"]), subjects=np.array("p")))  # fmt: skip


def test_infinite_joints_are_read_as_missing_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # haad eval stream --recordings stopped at the first such frame with 'bad_values: joints must not
    # be infinite', naming no file, while haad eval fewshot read the same file's as missing.
    joints = np.random.default_rng(0).normal(size=(6, 20, 3)).astype(np.float32)
    joints[1, 5, 0], joints[4, 9, 2] = np.inf, -np.inf
    with caplog.at_level("WARNING"):
        clips = load_clipset_file(_raw(tmp_path, "inf.npz", joints=joints)).clips
    loaded = np.concatenate([c.joints for c in clips])
    assert np.isnan(loaded[1, 5]).all() and np.isnan(loaded[4, 9]).all() and np.isfinite(loaded[0]).all()
    assert (
        "inf.npz: 2 of 6 frames hold infinite joints (ElbowLeft, ElbowRight): read as missing" in caplog.text
    )


def test_joints_at_exactly_the_origin_are_said_to_be_read_as_positions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Trackers that write (0, 0, 0) for a joint they lost (OpenPose, some Kinect exports) had their
    # files read silently as legs folded into the camera: recall 0.88 fell to 0.12 on such recordings.
    joints = np.random.default_rng(0).normal(size=(6, 20, 3)).astype(np.float32)
    joints[:, 0] = 0.0  # a hip-centred export: the root at the origin is a position, nothing to say
    assert len(load_clipset_file(_raw(tmp_path, "centred.npz", joints=joints)).clips) == 2
    assert "(0, 0, 0)" not in caplog.text
    joints[2:5, [13, 17]] = 0.0
    load_clipset_file(_raw(tmp_path, "lost.npz", joints=joints))
    assert "lost.npz: 3 of 6 frames hold joints at exactly (0, 0, 0) (KneeLeft, KneeRight)" in caplog.text


def test_a_single_npy_array_given_as_a_clip_set_is_refused_in_words(tmp_path: Path) -> None:
    # haad eval stream --recordings walk.npy ended in a TypeError traceback (np.load gives an array).
    np.save(tmp_path / "walk.npy", np.zeros((50, 20, 3), np.float32))
    with pytest.raises(ClipFileError, match=r"walk.npy holds one array, not a clip-set .npz"):
        load_clipset_file(tmp_path / "walk.npy")


@pytest.mark.parametrize("offsets", [np.array([0, 3]), np.array([3, 3])], ids=["starts", "lengths"])
def test_offsets_of_one_entry_per_clip_are_refused_saying_how_to_make_them(
    tmp_path: Path, offsets: np.ndarray
) -> None:
    # Each clip's start, or its length, is what a writer has at hand; the error said only that
    # offsets, labels and subjects disagreed.
    with pytest.raises(
        ClipFileError, match=r"offsets: one more entry than clips .*np.cumsum\(\[0\] \+ lengths\)"
    ):
        load_clipset_file(_raw(tmp_path, "offsets.npz", offsets=offsets))


def test_one_subject_label_or_view_for_every_clip_may_be_given_once(tmp_path: Path) -> None:
    # subjects="anna" (one person's clips) ended in 'TypeError: len() of unsized object'.
    path = _raw(
        tmp_path, "once.npz", subjects=np.array("anna"), labels=np.array("walk"), views=np.array("cam1")
    )
    assert [(c.subject, c.label, c.view) for c in load_clipset_file(path).clips] == [
        ("anna", "walk", "cam1")
    ] * 2


def test_frames_whose_timestamp_is_not_a_number_are_dropped_counted_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # One NaN timestamp left the whole recording out of haad eval stream ("timestamps must be
    # finite") though the loader said such frames are skipped.
    joints = np.random.default_rng(0).normal(size=(6, 20, 3)).astype(np.float32)
    path = _raw(
        tmp_path,
        "holes.npz",
        joints=joints,
        timestamps=np.array([0.0, np.nan, 0.1, 0.0, 0.05, np.inf]),
        frame_labels=np.array(["w", "x", "w", "k", "k", "y"]),
    )
    with caplog.at_level("WARNING"):
        a, b = load_clipset_file(path).clips
    assert [list(c.times) for c in (a, b)] == [[0.0, 0.1], [0.0, 0.05]]
    np.testing.assert_array_equal(np.concatenate([a.joints, b.joints]), joints[[0, 2, 3, 4]])
    assert [list(c.frame_labels) for c in (a, b)] == [["w", "w"], ["k", "k"]]  # type: ignore[arg-type]
    said = [r.getMessage() for r in caplog.records if "timestamp" in r.getMessage()]
    assert len(said) == 1 and "holes.npz: 2 of 6 frames" in said[0] and "a, b" in said[0], said
    assert len(clip_frames(a.joints, a.times, WindowSpec())) > 0


def test_mediapipe_landmarks_with_visibility_leave_out_frames_the_worker_would(
    tmp_path: Path, squat_clipset: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    # (frames, 33, 4), x y z visibility as MediaPipe gives them, was refused for its shape.
    visibility = np.ones((65, 33), np.float32)
    visibility[10:13] = 0.2  # nobody really in view: the live worker counts these frames missing
    visibility[20, 25:33] = 0.0  # the legs of one frame unseen, the body's mean still 0.7: kept
    plain = load_clipset_file(squat_clipset("xyz.npz"))
    with caplog.at_level("WARNING"):
        seen = load_clipset_file(squat_clipset("xyzv.npz", visibility))
    expected = np.concatenate([c.joints for c in plain.clips])
    expected[10:13] = np.nan
    np.testing.assert_array_equal(np.concatenate([c.joints for c in seen.clips]), expected)
    assert "xyzv.npz: 3 of 65 frames have a mean visibility under 0.5" in caplog.text
    np.save(tmp_path / "one.npy", np.load(tmp_path / "xyzv.npz")["joints"])
    (clip,) = load_clips(tmp_path / "one.npy", layout="mediapipe33")
    np.testing.assert_array_equal(clip.joints, expected)


def test_mediapipe_image_landmarks_are_refused_saying_world_landmarks_are_read(
    data_root: Path, squat_clipset: Callable[..., Path]
) -> None:
    # Normalised image landmarks (x, y fractions of the 720 x 1280 frame) were read silently as
    # metres: a body squeezed sideways, depth in units of the image's width.
    pixels = json.loads((data_root / "mediapipe_pose_testdata" / "pose_squats.full.json").read_text())
    image = np.array(pixels, np.float32) / np.array([720, 1280, 720], np.float32)
    with pytest.raises(ClipFileError, match=r"image.npz: .*normalised image landmarks.*world landmarks"):
        load_clipset_file(squat_clipset("image.npz", joints=image))


def test_mediapipe_visibility_is_judged_by_the_min_visibility_the_reader_is_given(
    squat_clipset: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    # The file's frames followed the worker's default (0.5) whatever the user's config said, so eval
    # and enrolment kept frames a worker set to 0.8 leaves out.
    visibility = np.ones((65, 33), np.float32)
    visibility[20:23, 25:33] = 0.0  # the legs unseen: a mean of 0.7 over the body
    path = squat_clipset("legs.npz", visibility)
    assert np.isfinite(load_clipset_file(path).clips[0].joints[20:23]).all()  # the default: kept
    with caplog.at_level("WARNING"):
        (strict,) = load_clipset_file(path, min_visibility=0.8).clips
    assert (
        np.isnan(strict.joints[20:23]).all() and np.isfinite(np.delete(strict.joints, [20, 21, 22], 0)).all()
    )
    assert "legs.npz: 3 of 65 frames have a mean visibility under 0.8" in caplog.text
    (listed,) = load_clips(path, min_visibility=0.8)
    np.testing.assert_array_equal(listed.joints, strict.joints)


def test_frames_with_every_joint_at_the_origin_are_read_as_missing_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Kinect SDKs and NTU-style exports write every joint as (0, 0, 0) for a frame nobody was tracked
    # in; read as a body folded into one point, 10 such frames per clip took a file's few-shot AUC
    # from 0.990 to 0.948 and its recordings' frame AUC from 0.969 to 0.928, and a clip of nothing
    # but such frames was scored as an action.
    joints = np.random.default_rng(0).normal(size=(6, 20, 3)).astype(np.float32)
    joints[[1, 4]] = 0.0
    joints[2, 13] = 0.0  # one lost joint: a position, as said by the test above
    with caplog.at_level("WARNING"):
        clips = load_clipset_file(_raw(tmp_path, "untracked.npz", joints=joints)).clips
    loaded = np.concatenate([c.joints for c in clips])
    assert np.isnan(loaded[[1, 4]]).all()
    np.testing.assert_array_equal(loaded[[0, 2, 3, 5]], joints[[0, 2, 3, 5]])
    assert "untracked.npz: 2 of 6 frames hold every joint at exactly (0, 0, 0)" in caplog.text
    np.save(tmp_path / "one.npy", joints)
    (clip,) = load_clips(tmp_path / "one.npy")
    assert np.isnan(clip.joints[[1, 4]]).all() and np.isfinite(clip.joints[[0, 5]]).all()


@pytest.mark.parametrize("shape", [(-1, 1), (1, -1)], ids=["column", "row"])
def test_text_given_as_a_column_or_a_row_reads_as_its_entries(tmp_path: Path, shape: tuple[int, int]) -> None:
    # df[["label"]].to_numpy() is (clips, 1): its clips were labelled "['walk']" and "['kick']",
    # categories no other file has, and frame labels in a column were refused.
    path = _raw(
        tmp_path, "column.npz", labels=np.array(["walk", "kick"]).reshape(shape),
        subjects=np.array(["s1", "s2"]).reshape(shape), names=np.array(["a", "b"]).reshape(shape),
        frame_labels=np.array(["w", "w", "", "k", "k", "k"]).reshape(shape),
    )  # fmt: skip
    a, b = load_clipset_file(path).clips
    assert (a.label, b.label, a.subject, b.subject, a.name, b.name) == ("walk", "kick", "s1", "s2", "a", "b")
    assert list(a.frame_labels) == ["w", "w", ""] and list(b.frame_labels) == ["k"] * 3  # type: ignore[arg-type]
    with pytest.raises(ClipFileError, match=r"table.npz: labels: one entry per clip; got a \(2, 2\) table"):
        load_clipset_file(_raw(tmp_path, "table.npz", labels=np.array([["walk", "x"], ["kick", "y"]])))


def test_labels_as_floats_read_as_whole_numbers_and_nan_as_not_annotated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A pandas column of whole-number labels with gaps is float64 with NaN: frame labels so were
    # refused, clip labels read as categories "1.0" (so --normal 1 matched none), and text "nan"
    # (what such a column's astype(str) gives) became an action, each unannotated stretch an
    # abnormal part to catch: recall 0.75 read 0.67.
    path = _raw(
        tmp_path, "floats.npz", labels=np.array([1.0, np.nan]),
        frame_labels=np.array([0.0, 0.0, np.nan, 1.0, 1.0, 0.0]),
    )  # fmt: skip
    a, b = load_clipset_file(path).clips
    assert (a.label, b.label) == ("1", "")
    assert list(a.frame_labels) == ["0", "0", ""] and list(b.frame_labels) == ["1", "1", "0"]  # type: ignore[arg-type]
    with caplog.at_level("WARNING"):
        a, b = load_clipset_file(
            _raw(tmp_path, "nan.npz", frame_labels=np.array(["w", "nan", "w", "NaN", "k", "k"]))
        ).clips
    assert list(a.frame_labels) == ["w", "", "w"] and list(b.frame_labels) == ["", "k", "k"]  # type: ignore[arg-type]
    assert 'nan.npz: frame_labels: 2 of 6 are "nan"' in caplog.text
    with pytest.raises(ClipFileError, match=r"fractions.npz: labels: 0.5 is no whole number"):
        load_clipset_file(_raw(tmp_path, "fractions.npz", labels=np.array([0.5, 1.0])))


def test_a_path_from_the_home_folder_written_with_a_tilde_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --dataset=~/clips.npz reaches haad unexpanded (the shell expands no ~ after '='), as does a path
    # from a script or a config: 'clip-set file not found: ~/clips.npz'.
    monkeypatch.setenv("HOME", str(tmp_path))
    save_clipset_file(tmp_path / "mine.npz", [_clip(5, "a")])
    assert len(load_clipset_file(Path("~/mine.npz")).clips) == 1
    assert len(load_clips(Path("~/mine.npz"))) == 1


def test_a_folder_a_gzip_or_a_text_file_given_as_a_clip_set_says_what_it_is(tmp_path: Path) -> None:
    # A folder was 'clip-set file not found' though it is there; a gzip'd .npz 'Cannot load file
    # containing pickled data', which it holds none of.
    (tmp_path / "clips").mkdir()
    save_clipset_file(tmp_path / "clips" / "set.npz", [_clip(5, "a")])
    with pytest.raises(ClipFileError, match=r"clips is a folder, not a clip-set file: give its set.npz"):
        load_clipset_file(tmp_path / "clips")
    with pytest.raises(ClipFileError, match=r"clips is a folder, not a clip file: give its set.npz"):
        load_clips(tmp_path / "clips")
    (tmp_path / "set.npz").write_bytes(gzip.compress((tmp_path / "clips" / "set.npz").read_bytes()))
    with pytest.raises(
        ClipFileError, match=r"set.npz is not a readable clip-set .npz: it is gzip-compressed: gunzip it"
    ):
        load_clipset_file(tmp_path / "set.npz")
    # a CSV or JSON file drew numpy's 'Cannot load file containing pickled data' as well
    (tmp_path / "set.npz").write_text("frame,joint,x,y,z\n0,0,0.1,0.2,0.3\n")
    with pytest.raises(
        ClipFileError, match=r"set.npz is not a readable clip-set .npz: it is no numpy file \(text"
    ):
        load_clipset_file(tmp_path / "set.npz")
    (tmp_path / "walk.npy").write_text('{"joints": [[0.1, 0.2, 0.3]]}')
    with pytest.raises(ClipFileError, match=r"walk.npy is not a readable .* it is no numpy file \(text"):
        load_clips(tmp_path / "walk.npy")


@pytest.mark.parametrize(
    ("shape", "layout", "hint"),
    [((6, 25, 4), "kinect_v2", "4 values per joint: layout kinect_v2 reads x, y, z: joints[..., :3]?"),
     ((6, 33, 5), "mediapipe33", "5 values per joint: layout mediapipe33 reads x, y, z and visibility: joints[..., :4]?"),
     ((6, 17, 3), "kinect_v1", "17 joints: no layout haad reads has 17 (kinect_v1 20, kinect_v2 25, mediapipe33 33, "
                               "msr_action3d 20, smpl24 24)"),
     ((6, 20, 2), "kinect_v1", "2 values per joint: haad reads 3D joints (x, y, z), not image keypoints"),
     ((6, 3, 25), "kinect_v2", "25 joints of 3 values, the values first: joints.transpose(0, 2, 1)?")],
    ids=["v2-tracking-state", "mediapipe-presence", "coco-keypoints", "image-keypoints", "channels-first"],
)  # fmt: skip
def test_joints_with_other_values_per_joint_than_the_layout_reads_say_which(
    tmp_path: Path, shape: tuple[int, int, int], layout: str, hint: str
) -> None:
    # Kinect v2's tracking state as a fourth column was told '25 joints: layout kinect_v2?', the
    # layout the file already names; MediaPipe's (x, y, z, visibility, presence) that mediapipe33 takes
    # only (..., 33, 3), though it reads (..., 33, 4); COCO's 17 keypoints, or 2D ones, only that
    # kinect_v1 has 20 joints of 3 values.
    path = _raw(tmp_path, "columns.npz", joints=np.zeros(shape, np.float32), layout=np.array(layout))
    with pytest.raises(ClipFileError) as e:
        load_clipset_file(path)
    assert str(e.value).endswith(hint), str(e.value)


def test_labels_spelt_with_combining_marks_are_the_labels_typed_with_one_character(tmp_path: Path) -> None:
    # Clips labelled from macOS folder names spell "Gehen über" with "u" and a combining diaeresis:
    # beside clips labelled by hand they made two categories of one action, and haad eval stream
    # --normal typed at a terminal said "no frame is labelled 'Gehen über'; labels found: ['Gehen über']".
    typed, decomposed = "Gehen über", unicodedata.normalize("NFD", "Gehen über")
    assert typed != decomposed
    path = _raw(
        tmp_path, "accents.npz", labels=np.array([typed, decomposed]),
        frame_labels=np.array([decomposed] * 3 + [typed] * 3),
    )  # fmt: skip
    a, b = load_clipset_file(path).clips
    assert a.label == b.label == typed
    assert list(a.frame_labels) + list(b.frame_labels) == [typed] * 6  # type: ignore[arg-type]


def test_timestamps_as_datetimes_are_read_as_seconds(tmp_path: Path) -> None:
    # pandas' timestamps (datetime64, or durations from the start) were refused: 'timestamps must be
    # numbers; got datetime64[ns]'; a frame without one (NaT) is left out, as a NaN time is.
    start = np.datetime64("2026-12-07T16:00:00")
    times = start + (np.array([0.0, 0.05, 0.1, 0.15, np.nan, 0.25]) * 1e9).astype("timedelta64[ns]")
    a, b = load_clipset_file(_raw(tmp_path, "dates.npz", timestamps=times)).clips
    assert a.times[0] == pytest.approx((start - np.datetime64(0, "s")) / np.timedelta64(1, "s"))
    assert np.diff(a.times) == pytest.approx([0.05, 0.05]) and len(b.times) == 2
    durations = (np.array([0.0, 0.05, 0.1, 0.0, 0.05, 0.1]) * 1e3).astype("timedelta64[ms]")
    a, _ = load_clipset_file(_raw(tmp_path, "durations.npz", timestamps=durations)).clips
    np.testing.assert_allclose(a.times, [0.0, 0.05, 0.1])


@pytest.mark.parametrize(
    ("scale", "unit"),
    [(1e3, "milliseconds? divide by 1000"), (1e6, "microseconds? divide by 1e6"), (1e9, "nanoseconds? divide by 1e9")],
)  # fmt: skip
def test_timestamps_in_a_finer_unit_name_it(tmp_path: Path, scale: float, unit: str) -> None:
    # Nanoseconds (pandas' datetimes as int64) were told 'milliseconds? divide by 1000': divided so,
    # they were refused again.
    times = np.round(np.array([0.0, 1 / 30, 2 / 30, 0.0, 1 / 30, 2 / 30]) * scale).astype(np.int64)
    with pytest.raises(ClipFileError, match=re.escape(f"timestamps are in seconds ({unit})")):
        load_clipset_file(_raw(tmp_path, "fine.npz", timestamps=times))


@pytest.mark.parametrize(
    ("axes", "signs", "said"),
    [((0, 2, 1), (1, -1, 1), "along z, not y (up), in most frames"),
     ((1, 0, 2), (1, -1, 1), "along x, not y (up), in most frames")],
    ids=["z-up", "x-up"],
)  # fmt: skip
def test_a_file_whose_bodies_lie_along_another_axis_says_how_to_turn_it_up(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    axes: tuple[int, int, int],
    signs: tuple[int, int, int],
    said: str,
) -> None:
    # A z-up export (AMASS, motion capture) was read silently as people lying down: few-shot AUC 0.990
    # fell to 0.823, stream recall 0.75 to 0.38. Lying people look the same, so it is said, not turned;
    # the turn it names makes the file upright.
    from pose_frontend.synthetic import SyntheticPerformer

    frames = np.stack([f for _, f in SyntheticPerformer([("walk_in_place", 3.0)], fps=20)])
    lying = frames[..., list(axes)] * np.array(signs, np.float32)  # turned, not mirrored
    path = _raw(
        tmp_path, "lying.npz", joints=lying, offsets=np.array([0, len(frames)]), labels=np.array(["walk"]),
        subjects=np.array(["s"]), names=np.array(["a"]), timestamps=np.arange(len(frames)) / 20.0,
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        (clip,) = load_clipset_file(path).clips
    np.testing.assert_array_equal(clip.joints, lying)
    turn = re.search(r"y-up first, joints\[\.\.\., (\[.*?\])\] \* (\[.*?\])", caplog.text)
    assert said in caplog.text and turn, caplog.text
    upright = lying[..., json.loads(turn[1])] * np.array(json.loads(turn[2]), np.float32)
    caplog.clear()
    with caplog.at_level("WARNING"):
        (clip,) = load_clipset_file(_raw(tmp_path, "lying.npz", joints=upright, offsets=np.array([0, len(frames)]),
            labels=np.array(["walk"]), subjects=np.array(["s"]), names=np.array(["a"]),
            timestamps=np.arange(len(frames)) / 20.0)).clips  # fmt: skip
    np.testing.assert_allclose(clip.joints, frames, atol=1e-6)
    assert "torso lies" not in caplog.text and "turned" not in caplog.text and "mirrored" not in caplog.text


@pytest.mark.parametrize(
    ("given", "key"),
    [("label", "labels"), ("Joints", "joints"), ("timestamp", "timestamps"), ("VIEW", "views")],
)
def test_a_key_haad_reads_in_another_case_or_number_is_refused_naming_the_key(
    tmp_path: Path, given: str, key: str
) -> None:
    # Keys haad does not read are ignored: a file's 'label' left every clip unlabelled (haad eval
    # fewshot: 'no clip has a label'), 'view' scored one camera, 'timestamp' beside fps was never read,
    # and 'Joints' was said to lack joints.
    path = _raw(tmp_path, "slip.npz", **{key: None}, **{given: np.array(["a", "b"]) if key != "joints" else
                np.zeros((6, 20, 3), np.float32)}, fps=np.array(30.0))  # fmt: skip
    with pytest.raises(ClipFileError, match=rf"slip.npz: '{given}' is no key haad reads: '{key}'\?"):
        load_clipset_file(path)
    # a key of its own (ids, or an FPS beside the timestamps read instead) is still left alone
    path = _raw(
        tmp_path,
        "own.npz",
        frame_label_ids=np.arange(6),
        label_names=np.array(["w", "k"]),
        FPS=np.array(30),
    )
    assert len(load_clipset_file(path).clips) == 2
