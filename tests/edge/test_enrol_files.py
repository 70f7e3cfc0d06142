"""Enrolment files checked before pose estimation (edge/enrol_files.py): real clip-set files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from clips import Clip
from clips.files import save_clipset_file
from edge.enrol_files import EnrolmentError, load_enrol_clips
from models.preprocess import WindowSpec


@pytest.fixture(scope="module")
def walks(kinder_gator) -> list[Clip]:  # type: ignore[no-untyped-def]
    return [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:2]


def _load(paths: list[Path], **kw: object) -> list[Clip]:
    return load_enrol_clips(paths, spec=WindowSpec(), min_segment_s=1.0, **kw)  # type: ignore[arg-type]


def test_a_label_that_cannot_name_a_behaviour_is_refused_unless_the_behaviour_is_named(
    tmp_path: Path, walks: list[Clip]
) -> None:
    """Without --behaviour each label names a behaviour, which --behaviour must be able to name later."""
    clipset = tmp_path / "site.npz"
    save_clipset_file(clipset, [Clip(c.joints, c.times, "sitting down", c.subject, c.name) for c in walks])
    with pytest.raises(
        EnrolmentError, match="site.npz: a label gives an invalid behaviour name 'sitting down'"
    ):
        _load([clipset])
    assert len(_load([clipset], behaviour="sitting-down")) == 2


def test_a_folder_is_named_as_one_not_as_missing(tmp_path: Path) -> None:
    folder = tmp_path / "clips.npz"
    folder.mkdir()
    with pytest.raises(EnrolmentError, match="clips.npz is a folder; give the videos or clip files in it"):
        _load([folder])


def test_a_video_given_twice_goes_through_pose_estimation_once(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minutes of MediaPipe per video: the repeat is the same clip, left out later as given twice."""
    import pose_frontend.record as record

    video = data_root / "mediapipe_pose_testdata" / "pose_squats.mp4"
    (tmp_path / "again.mp4").symlink_to(video)
    runs: list[str] = []
    real = record.record_clip

    def counted(stream):  # type: ignore[no-untyped-def]
        runs.append(stream.source.path)
        return real(stream)

    monkeypatch.setattr(record, "record_clip", counted)
    clips = _load([video, video, tmp_path / "again.mp4"])
    assert runs == [str(video)]
    assert [c.name for c in clips] == ["pose_squats.mp4", "pose_squats.mp4 (2)", "again.mp4"]
    assert all(c.joints is clips[0].joints for c in clips)


def test_a_video_without_a_person_says_how_to_enrol_that_camera(tmp_path: Path) -> None:
    # It said only "no person was detected in any frame", also of a camera whose people are small
    # (opencv_vtest), which the stream's own estimator settings (haad frontend record) do find.
    video = tmp_path / "empty.mp4"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
    for _ in range(30):  # 2.9 s: long enough to be one clip, so pose estimation runs
        out.write(np.full((64, 96, 3), 128, np.uint8))
    out.release()
    with pytest.raises(EnrolmentError) as e:
        _load([video])
    assert "empty.mp4: no person was detected in any frame" in str(e.value)
    assert "`haad frontend record edge.yaml --stream ID --out clip.npz`) and enrol the .npz" in str(e.value)


def test_a_clip_set_of_many_short_clips_names_a_few_and_counts_the_rest(
    tmp_path: Path, walks: list[Clip]
) -> None:
    """NW-UCLA's clip set made a 60 KB error line, one problem per short clip."""
    clipset = tmp_path / "short.npz"
    w = walks[0]
    save_clipset_file(clipset, [Clip(w.joints[:10], w.times[:10], "walk", name=f"c{i}") for i in range(40)])
    with pytest.raises(EnrolmentError) as e:
        _load([clipset])
    message = str(e.value)
    assert message.count("s of skeleton; windows need at least 1 s") == 5, message
    assert message.endswith("; and 35 more problem(s) like these"), message


def test_a_video_whose_person_is_in_view_too_briefly_says_so(data_root: Path, tmp_path: Path) -> None:
    # A 2.5 s video with a person in its first 0.8 s was refused with '0.75 s of skeleton ... (after
    # pose estimation)' only: the video was long enough, and what was wrong (the person left the
    # view) was left to guess.
    source = cv2.VideoCapture(str(data_root / "mediapipe_pose_testdata" / "pose_1.mp4"))
    person = [cv2.resize(source.read()[1], (288, 288)) for _ in range(24)][::3]
    video = tmp_path / "partial.mp4"  # 10 fps, half size: little pose estimation
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (288, 288))
    for f in person + [np.zeros_like(person[0])] * 17:
        out.write(f)
    out.release()
    with pytest.raises(EnrolmentError) as e:
        _load([video])
    assert "partial.mp4: 0.75 s of skeleton; windows need at least 1 s" in str(e.value)  # 8 frames at 10 fps
    assert str(e.value).endswith(
        "(after pose estimation: a person in 32% of the video's frames; give one where the person stays "
        "whole and in view longer)"
    ), str(e.value)


def _cut(video: Path, out_path: Path, start_s: float, seconds: float) -> Path:
    """``seconds`` of ``video`` from ``start_s``, written as a video of their own (a user's cut)."""
    source = cv2.VideoCapture(str(video))
    fps = source.get(cv2.CAP_PROP_FPS)
    source.set(cv2.CAP_PROP_POS_FRAMES, round(start_s * fps))
    frames = [source.read()[1] for _ in range(round(seconds * fps))]
    source.release()
    height, width = frames[0].shape[:2]
    out = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for f in frames:
        out.write(f)
    out.release()
    return out_path


def test_a_video_of_several_people_is_refused_saying_how_to_enrol_one(
    data_root: Path, tmp_path: Path
) -> None:
    # vtest.avi's walkers enrolled as one person: the one-person estimator follows whoever it finds,
    # and the profile held their splices (its most vigorous second 3.44 torso lengths/s, against
    # 0.9-2.1 for one person's clips), with no word said.
    street = _cut(data_root / "opencv_vtest" / "vtest.avi", tmp_path / "street.mp4", 55.0, 5.0)
    with pytest.raises(EnrolmentError) as e:
        _load([street])
    message = str(e.value)
    assert "street.mp4: several people are in view (up to " in message, message
    assert "cut the video to one person" in message
    assert (
        "`haad frontend record edge.yaml --stream ID --person longest --out clip.npz`) and enrol the .npz"
        in message
    )


@pytest.mark.parametrize("name", ["pose_squats.mp4", "pose_1.mp4"])
def test_a_video_of_one_person_still_enrols(data_root: Path, name: str) -> None:
    clips = _load([data_root / "mediapipe_pose_testdata" / name])
    assert [c.name for c in clips] == [name] and np.isfinite(clips[0].joints).all(axis=(1, 2)).mean() > 0.9
