"""Enrolment files a new user may give by mistake (edge/enrol_files.py): real Kinect clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clips import Clip
from clips.files import save_clipset_file
from edge.enrol_files import EnrolmentError, load_enrol_clips
from models.preprocess import WindowSpec


def _recording(kinder_gator, subject: int) -> Clip:  # type: ignore[no-untyped-def]
    """One person walking in place, jumping, then walking again: a continuous recording labelled per frame."""
    parts = [
        next(c for c in kinder_gator.clips if c.label == motion and c.subject.endswith(str(subject)))
        for motion in ("Walk-in-place", "Jump", "Walk-in-place")
    ]
    labels = ["walk", "jump", "walk"]
    joints = np.concatenate([c.joints for c in parts])
    times = np.arange(len(joints)) / 30.0
    frame_labels = np.concatenate([np.full(len(c.joints), lab) for c, lab in zip(parts, labels, strict=True)])
    return Clip(joints, times, "", str(subject), f"rec{subject}", frame_labels)


def test_a_recording_of_several_behaviours_is_refused_not_enrolled_whole_as_normal(
    tmp_path: Path,
    kinder_gator,  # type: ignore[no-untyped-def]
) -> None:
    # A recording-set file (haad eval stream --recordings) enrolled every frame as 'normal', the
    # jump its frame_labels call abnormal too, and said nothing.
    recordings = tmp_path / "recordings.npz"
    save_clipset_file(recordings, [_recording(kinder_gator, s) for s in (565, 577)])
    for behaviour in (None, "walking"):
        with pytest.raises(EnrolmentError) as e:
            load_enrol_clips([recordings], spec=WindowSpec(), min_segment_s=1.0, behaviour=behaviour)
        assert (
            "recordings.npz: the frames of rec565, rec577 show several behaviours each (frame_labels: jump, walk)"
            in str(e.value)
        )
        assert "haad eval stream --recordings" in str(e.value)
    # a recording of one behaviour throughout enrols as any clip does
    one = tmp_path / "walk.npz"
    rec = _recording(kinder_gator, 565)
    save_clipset_file(
        one, [Clip(rec.joints, rec.times, "walk", "565", "w", np.full(len(rec.joints), "walk"))]
    )
    assert [c.name for c in load_enrol_clips([one], spec=WindowSpec(), min_segment_s=1.0)] == ["w"]


def test_a_joint_never_measured_is_named_not_only_no_whole_frame(
    tmp_path: Path,
    kinder_gator,  # type: ignore[no-untyped-def]
) -> None:
    # An export without hands (NaN in every frame) got 'the clip has no frame with all joints
    # finite', leaving the user to find which joint; haad eval stream --recordings names it.
    walks = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:2]
    handless = []
    for c in walks:
        joints = c.joints.copy()
        joints[:, [7, 11]] = np.nan  # HandLeft, HandRight
        handless.append(Clip(joints, c.times, c.label, c.subject, c.name))
    clipset = tmp_path / "handless.npz"
    save_clipset_file(clipset, handless)
    with pytest.raises(EnrolmentError, match=r"HandLeft, HandRight never measured \(NaN in every frame\)"):
        load_enrol_clips([clipset], spec=WindowSpec(), min_segment_s=1.0)


def test_behaviour_names_that_differ_only_in_case_are_refused_not_made_two(kinder_gator) -> None:  # type: ignore[no-untyped-def]
    # Labels 'walk' and 'Walk' (two annotators), or --behaviour Walking on a profile of 'walking',
    # made two behaviours, the second of one clip, calibrated on its own halves.
    from dataclasses import replace

    from config.backend import OnnxRuntimeConfig
    from config.worker import WorkerConfig
    from edge.backends import make_backend
    from edge.enroll import build_profile

    walks = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3]
    backend, calibration = make_backend(OnnxRuntimeConfig()), WorkerConfig().calibration
    labelled = [replace(c, label=label) for c, label in zip(walks, ("walk", "walk", "Walk"), strict=True)]
    with pytest.raises(ValueError, match=r"behaviours 'Walk' and 'walk' differ only in case"):
        build_profile("ward", labelled, backend, calibration=calibration)
    base = build_profile("ward", walks[:2], backend, calibration=calibration, behaviour="walking")
    with pytest.raises(ValueError, match=r"behaviours 'Walking' and 'walking' differ only in case"):
        build_profile("ward", walks[2:], backend, calibration=calibration, behaviour="Walking", base=base)
    added = build_profile("ward", walks[2:], backend, calibration=calibration, behaviour="walking", base=base)
    assert [b["name"] for b in added.behaviour_table] == ["walking"]


def test_a_skeleton_npy_of_another_layout_names_the_layout_option(tmp_path: Path) -> None:
    # A Kinect v2 export (25 joints) got only 'kinect_v1 skeletons must have shape (..., 20, 3)',
    # though the loader reads it with --layout kinect_v2.
    path = tmp_path / "k2.npy"
    np.save(path, np.random.default_rng(0).normal(size=(90, 25, 3)).astype(np.float32))
    with pytest.raises(EnrolmentError, match=r"25 joints: --layout kinect_v2\?"):
        load_enrol_clips([path], spec=WindowSpec(), min_segment_s=1.0)
    np.save(path, np.random.default_rng(0).normal(size=(90, 33, 3)).astype(np.float32))
    with pytest.raises(EnrolmentError, match=r"33 joints: --layout mediapipe33\?"):
        load_enrol_clips([path], spec=WindowSpec(), min_segment_s=1.0)
    path.write_bytes(b"not numpy")  # no array: said as unreadable, no layout guessed
    with pytest.raises(EnrolmentError, match=r"k2.npy is not a readable \(T, N, 3\) skeleton .npy"):
        load_enrol_clips([path], spec=WindowSpec(), min_segment_s=1.0)


def test_a_video_leaves_out_the_frames_the_worker_counts_missing_for_low_visibility(data_root: Path) -> None:
    """haad enroll of a video enrolled every frame MediaPipe found a person in, also those whose mean
    joint visibility is under worker.min_visibility, which the live worker skips: a video's clip now
    keeps each joint's visibility, judged by the rule clip files are (clips/files.py)."""
    video = data_root / "mediapipe_pose_testdata" / "pose_1.mp4"  # 120 frames, one person
    least = 0.958  # this video's frames' mean visibilities are 0.95 to 0.97: some fall under it
    (clip,) = load_enrol_clips([video], spec=WindowSpec(), min_segment_s=1.0, min_visibility=least)
    assert clip.visibility is not None and clip.visibility.shape == clip.joints.shape[:2]
    seen = np.isfinite(clip.joints).all(axis=-1)
    mean = np.where(seen, clip.visibility, 0.0).sum(-1) / np.maximum(seen.sum(-1), 1)
    person = seen.any(axis=-1)
    assert not (person & (mean < least)).any()  # no frame the worker would skip was enrolled
    # frames left out: some of the video's frames had a person the worker would not count
    assert ((~person) & (clip.visibility.max(axis=-1) > 0)).any()
