"""Enrolment clips from files: videos (through pose estimation) or recorded skeletons.

Every file is checked before any pose estimation runs: that it exists and is a video or clip file,
that a video opens and lasts long enough (frame count and rate from its container), that every clip
of a clip file is usable and long enough (edge/enroll.py ``clip_problems``: at least
``worker.min_segment_s`` of skeleton, a lone clip twice that), and that none is a recording whose
``frame_labels`` name several behaviours. Videos then go through MediaPipe one
at a time, and a video of several people (edge/enrol_crowd.py) or whose skeleton turns out too short
stops the enrolment before the next one;
a video named as a clip the profile it joins holds is judged there only, once its skeleton tells
whether it is that clip (enrolled already: build_profile says so) or another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from clips import CLIP_FILE_SUFFIXES, Clip, load_clips
from clips.files import ClipFileError, unseen_frames_missing
from config.frontend import EstimatorConfig, StreamConfig, VideoSourceConfig
from edge.enrol_crowd import crowd_problem
from edge.enroll import behaviour_name, clip_error, clip_problems, enrolled_already
from edge.profiles import Profile, ProfileError, check_name
from edge.segments import frames_in_span
from models.preprocess import ClipError, WindowSpec, clip_frames
from models.skeleton import Layout

# Problems an error names one by one: a clip set of a thousand short clips made one 60 KB line.
SHOWN_PROBLEMS = 5
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


class EnrolmentError(ValueError):
    """Files that cannot be enrolled; the message names each file and the reason."""


@dataclass(frozen=True)
class _Source:
    """A checked file: its clips (a clip file), or a video and the resampled frames its skeleton can
    hold at most (None when its container does not say)."""

    path: Path
    clips: tuple[Clip, ...] = ()
    video: bool = False
    video_frames: int | None = None


def load_enrol_clips(
    paths: Sequence[Path],
    *,
    spec: WindowSpec,
    min_segment_s: float,
    label: str | None = None,
    layout: Layout = "kinect_v1",
    fps: float = 30.0,
    min_visibility: float | None = None,
    estimator: EstimatorConfig | None = None,
    enrolled_before: int = 0,
    behaviour: str | None = None,
    base: Profile | None = None,
) -> list[Clip]:
    """Every clip in ``paths``, checked first (module docstring). ``enrolled_before``: clips the
    behaviour they join already has (a clip is alone only when that is 0 and it is the only one).
    ``behaviour``: the one the clips show; None: each clip-set label names one, and must be a name.
    ``min_visibility``: the worker's, as clip files are read (clips/files.py); its default when None.
    ``base``: the profile the clips join; those it was enrolled from count for no rule on clip lengths
    (build_profile leaves them out, saying so).

    * a video file: MediaPipe Pose over every frame (frames without a person become gaps);
    * a clip-set ``.npz`` (clips/files.py): its clips, only those labelled ``label`` when given;
    * a ``.npy`` array ``(T, N, 3)`` in ``layout`` at ``fps``.

    Raises :class:`EnrolmentError` naming every file that cannot be used (missing, unreadable, too
    short), before pose estimation when the files alone tell.
    """
    sources = [
        _check(p, label=label, layout=layout, fps=fps, min_visibility=min_visibility, spec=spec)
        for p in paths
    ]
    known: set[int] = set()  # id() of the clips base holds (names are unique only within a file)
    for s in sources:
        if base is not None and (names := enrolled_already(s.clips, spec, base)):
            known |= {id(c) for c in s.clips if c.name in names}
    # A video named as a clip base holds may be that clip, which only its skeleton tells: its length
    # is judged after pose estimation, else a repeat too short to enrol alone was refused as such.
    enrolled_names = set(base.meta.get("sources", [])) if base is not None else set()
    total = enrolled_before + sum(1 if s.video else sum(id(c) not in known for c in s.clips) for s in sources)
    lengths: list[tuple[str, int]] = []
    problems: list[str] = []
    videos: set[str] = set()  # names of the videos judged by their length
    for s in sources:
        if not s.video:
            measured, unusable = _measure([c for c in s.clips if id(c) not in known], spec)
            lengths += measured
            problems += unusable + _mixed_problems(s) + (_label_problems(s) if behaviour is None else [])
        elif s.video_frames is not None and s.path.name not in enrolled_names:
            lengths.append((s.path.name, s.video_frames))
            videos.add(s.path.name)
    if problems := problems + clip_problems(lengths, spec, min_segment_s, total=total, videos=videos):
        raise EnrolmentError("cannot enrol: " + _listed(problems))
    clips: list[Clip] = []
    estimated: dict[Path, Clip] = {}  # a video given twice is left out as a repeat, not estimated twice
    for s in sources:
        if not s.video:
            clips += s.clips
            continue
        if (seen := estimated.get(s.path.resolve())) is not None:
            clips.append(replace(seen, name=s.path.name))
            continue
        clip = _video_clip(s.path, estimator or EstimatorConfig(), min_visibility)
        estimated[s.path.resolve()] = clip
        if base is not None and enrolled_already([clip], spec, base):
            total -= 1  # build_profile leaves it out, saying it is enrolled already
            clips.append(clip)
            continue
        measured, unusable = _measure([clip], spec)
        if problems := unusable + clip_problems(measured, spec, min_segment_s, total=total):
            own = [(s.path.name, s.video_frames)] if s.video_frames is not None else []
            if short := clip_problems(own, spec, min_segment_s, total=total, videos={s.path.name}):
                # named as a clip of the profile, so not judged by its length before
                raise EnrolmentError(f"cannot enrol: {short[0]}")
            # The video was long enough: how little of it showed a person is what to act on (a share:
            # pose estimation samples the video's frames, so a count would not match the file's).
            person = float(np.isfinite(clip.joints).all(axis=(1, 2)).mean())
            raise EnrolmentError(
                f"cannot enrol: {problems[0]} (after pose estimation: a person in {person:.0%} of the "
                "video's frames; give one where the person stays whole and in view longer)"
            )
        clips.append(clip)
    return _distinct_names(clips)


def _distinct_names(clips: Sequence[Clip]) -> list[Clip]:
    """``clips``, a repeated name numbered (``walk.mp4 (2)``): a profile lists the clips it holds and
    those it left out by name, and one name in both lists could not say which was which."""
    seen: dict[str, int] = {}
    out = []
    for c in clips:
        seen[c.name] = n = seen.get(c.name, 0) + 1
        out.append(c if n == 1 else replace(c, name=f"{c.name} ({n})"))
    return out


def _check(
    path: Path,
    *,
    label: str | None,
    layout: Layout,
    fps: float,
    min_visibility: float | None,
    spec: WindowSpec,
) -> _Source:
    if path.is_dir():
        raise EnrolmentError(f"cannot enrol: {path} is a folder; give the videos or clip files in it")
    if not path.is_file():
        raise EnrolmentError(f"cannot enrol: {path}: no such file")
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        from pose_frontend.base import SourceError
        from pose_frontend.sources import VideoFileSource

        try:
            video = VideoFileSource(path)
        except SourceError as e:
            raise EnrolmentError(f"cannot enrol: {e}") from None
        if video.frame_count <= 0:  # the container does not say: pose estimation will tell
            return _Source(path, video=True)
        frames = frames_in_span((video.frame_count - 1) / video.fps, spec)
        return _Source(path, video=True, video_frames=frames)
    if suffix in CLIP_FILE_SUFFIXES:
        try:
            clips = load_clips(path, layout=layout, fps=fps, label=label, min_visibility=min_visibility)
            return _Source(path, tuple(clips))
        except ClipFileError as e:
            raise EnrolmentError(f"cannot enrol: {e}") from None
    raise EnrolmentError(
        f"cannot enrol: {path}: not a video ({', '.join(sorted(VIDEO_SUFFIXES))}), clip-set .npz or .npy"
    )


def _listed(problems: Sequence[str]) -> str:
    """The first :data:`SHOWN_PROBLEMS` problems, and how many more there are."""
    more = len(problems) - SHOWN_PROBLEMS
    return "; ".join(problems[:SHOWN_PROBLEMS]) + (
        f"; and {more} more problem(s) like these" if more > 0 else ""
    )


def _label_problems(source: _Source) -> list[str]:
    """Why labels of a clip file cannot name the behaviours they make: a behaviour is named as a
    profile is, so that ``--behaviour`` can add to it later."""
    problems = []
    for name in dict.fromkeys(behaviour_name(c, None) for c in source.clips):
        try:
            check_name(name, "behaviour")
        except ProfileError as e:
            problems.append(
                f"{source.path.name}: a label gives an {e}; enrol its clips with --label {name!r} --behaviour NAME"
            )
    return problems


def _mixed_problems(source: _Source) -> list[str]:
    """Clips whose frames are labelled with more than one behaviour (a recording-set file's
    ``frame_labels``): enrolled whole, the actions its labels call abnormal would become normal."""
    mixed: dict[str, list[str]] = {}  # clip name -> the behaviours its frames show
    for c in source.clips:
        shown = sorted(set(np.asarray(c.frame_labels).tolist()) - {""}) if c.frame_labels is not None else []
        if len(shown) > 1:
            mixed[c.name] = shown
    if not mixed:
        return []
    names = list(mixed)
    listed = ", ".join(names[:SHOWN_PROBLEMS]) + (
        f" and {len(names) - SHOWN_PROBLEMS} more" if len(names) > SHOWN_PROBLEMS else ""
    )
    labels = sorted({label for shown in mixed.values() for label in shown})
    return [
        f"{source.path.name}: the frames of {listed} show several behaviours each (frame_labels: "
        f"{', '.join(labels)}); enrolment takes clips of one behaviour each: cut out the normal "
        "stretches, or score the recordings with haad eval stream --recordings"
    ]


def _measure(clips: Sequence[Clip], spec: WindowSpec) -> tuple[list[tuple[str, int]], list[str]]:
    """(name, resampled frames of usable skeleton) of each usable clip, and why the others are not."""
    lengths, unusable = [], []
    for c in clips:
        try:
            lengths.append((c.name, len(clip_frames(c.joints, c.times, spec))))
        except ClipError as e:
            unusable.append(f"{c.name}: {clip_error(c.joints, e)}")
    return lengths, unusable


def _video_clip(path: Path, estimator: EstimatorConfig, min_visibility: float | None) -> Clip:
    """The video's first person, the frames the worker would count missing (their mean visibility
    under ``min_visibility``) left out by the rule clip files are read by, so that a video and a
    recording of it (``haad frontend record``) enrol the same frames. A video read with a one-person
    estimator is refused where several people are in view much of the time (edge/enrol_crowd.py)."""
    from pose_frontend.record import RecordError, record_clip

    # checked first: a crowd's video is refused in seconds rather than after the one-person pass
    if estimator.people is None and (crowd := _crowd_problem(path)):
        raise EnrolmentError(f"cannot enrol: {crowd}")
    stream = StreamConfig(
        id="enrol", source=VideoSourceConfig(path=str(path), realtime=False), estimator=estimator
    )
    try:
        times, joints, visibility, _counters = record_clip(stream)
    except RecordError as e:  # a video that opened but ends early (truncated), say
        raise EnrolmentError(f"cannot enrol: {e}") from None
    unseen_frames_missing(path, joints, visibility, min_visibility)
    if not np.isfinite(joints).all(axis=(1, 2)).any():
        raise EnrolmentError(
            f"cannot enrol: {path}: no person was detected in any frame; a video is read with MediaPipe "
            "Pose's default one-person settings: give one where a person is whole and large in view, or "
            "record the camera with its stream's estimator settings (`haad frontend record edge.yaml "
            "--stream ID --out clip.npz`) and enrol the .npz"
        )
    return Clip(joints, times, name=path.name, visibility=visibility)


def _crowd_problem(path: Path) -> str | None:
    """:func:`crowd_problem`, a video that fails to be read refused as one."""
    from pose_frontend.base import SourceError
    from pose_frontend.estimator import EstimatorError
    from pose_frontend.process import FrameErrorLimit

    try:
        return crowd_problem(path)
    except (SourceError, EstimatorError, FrameErrorLimit) as e:
        raise EnrolmentError(f"cannot enrol: {e}") from None  # the source error names the file
