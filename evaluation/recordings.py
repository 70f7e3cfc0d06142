"""Users' own labelled continuous recordings as streams for ``haad eval stream --recordings``.

A *recording-set* file is a clip-set file (clips/files.py) whose clips are continuous recordings,
with ``frame_labels``: frames labelled with a normal behaviour (``--normal``, one or several) are
normal, frames with any other non-empty label abnormal, frames labelled "" are left out of the
metrics. A run of normal frames is a normal part, whichever normal behaviours it holds (changing from
one normal behaviour to another is normal too); each run of one abnormal label is an abnormal part,
what an alert must overlap.

Unless a profile is given, each recording is scored against a profile enrolled as ``haad enroll``
would, one behaviour per normal label, each from the longest run of that label in each of ``shots``
recordings of *other* subjects (one run per subject while there are subjects enough, longest runs
first; a recording whose subject is "" counts as its own subject). Runs shorter than
``min_segment_s`` are never enrolled (edge/segments.py). Where fewer other subjects' runs are long
enough, the recording is enrolled from those, and a warning says so.

A recording with no stretch of ``min_segment_s`` of skeleton (every joint finite) is left out, with a
warning: the worker would score none of it, so it would only count as a recording that never
alerted and its actions as missed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clips import Clip, load_clipset_file
from edge.enroll import clip_error, short_reason
from edge.segments import frames_in_span, min_segment_frames
from evaluation.stream_sets import Interval, LabelledStream, label_runs
from models.preprocess import ClipError, WindowSpec, clip_frames

log = logging.getLogger(__name__)


def labels_of(normal: str | Sequence[str]) -> list[str]:
    """The normal labels: one label, or several."""
    return [normal] if isinstance(normal, str) else list(normal)


def parts(
    recording: Clip, normal: str | Sequence[str]
) -> tuple[tuple[Interval, ...], tuple[Interval, ...], tuple[str, ...]]:
    """(abnormal, normal) parts of a recording as source-time intervals (first to last frame), and
    the label of each abnormal part; frames labelled with any of ``normal`` are normal."""
    assert recording.frame_labels is not None
    t = recording.times
    is_normal = np.isin(recording.frame_labels, labels_of(normal))
    kinds = np.where(is_normal, "\x00normal", recording.frame_labels)  # one run across normal labels
    abnormal: list[Interval] = []
    normal_parts: list[Interval] = []
    labels: list[str] = []
    for label, a, b in label_runs(kinds):
        if label == "":
            continue
        (normal_parts if is_normal[a] else abnormal).append((float(t[a]), float(t[b - 1])))
        if not is_normal[a]:
            labels.append(label)
    return tuple(abnormal), tuple(normal_parts), tuple(labels)


def longest_normal_run(recording: Clip, normal: str) -> Clip | None:
    assert recording.frame_labels is not None
    runs = [(b - a, a, b) for label, a, b in label_runs(recording.frame_labels) if label == normal]
    if not runs:
        return None
    _, a, b = max(runs, key=lambda r: (r[0], -r[1]))
    return Clip(
        recording.joints[a:b], recording.times[a:b], normal, recording.subject, f"{recording.name}:{normal}"
    )


def unscorable(recording: Clip, spec: WindowSpec, min_segment_s: float) -> str | None:
    """Why the worker would score nothing of ``recording``; None if it scores something."""
    try:
        frames = clip_frames(recording.joints, recording.times, spec)  # its longest valid stretch
    except ClipError as e:
        return clip_error(recording.joints, e)
    return short_reason(len(frames), spec, min_segment_s)


def _subject(clip: Clip) -> str:
    return clip.subject or f"recording {clip.name}"


def choose_support(
    recording: Clip, others: list[Clip], normal: str, shots: int, spec: WindowSpec, min_segment_s: float
) -> tuple[Clip, ...]:
    """The enrolment clips of behaviour ``normal`` for ``recording``: longest runs of that label in
    other subjects' recordings."""
    need = min_segment_frames(spec, min_segment_s)
    runs = []
    for other in others:
        if other is recording or _subject(other) == _subject(recording):
            continue
        run = longest_normal_run(other, normal)
        if run is not None and frames_in_span(run.duration_s, spec) >= need:
            runs.append(run)
    runs.sort(key=lambda r: (-r.duration_s, r.name))
    first_per_subject: list[Clip] = []
    rest: list[Clip] = []
    seen: set[str] = set()
    for r in runs:
        (rest if _subject(r) in seen else first_per_subject).append(r)
        seen.add(_subject(r))
    return tuple((first_per_subject + rest)[:shots])


@dataclass(frozen=True)
class RecordingSet:
    """A recording-set file's scorable recordings as labelled streams, and those left out."""

    streams: list[LabelledStream]
    left_out: dict[str, str]  # recording name -> why the worker would score none of it


def read_recording_set(
    path: Path,
    normal: str | Sequence[str],
    *,
    shots: int,
    spec: WindowSpec,
    min_segment_s: float,
    min_visibility: float | None = None,
    enrol: bool = True,
) -> RecordingSet:
    """Every recording of a recording-set file as a labelled stream, but for those the worker would
    score none of (left out, with why); with ``enrol`` each gets its support clips, ``shots`` per
    normal behaviour (:func:`choose_support`). Raises ValueError for a file without frame labels, a
    normal label no frame carries, or a recording without enough other subjects' runs of a normal
    behaviour. ``min_visibility``: the worker's, as the file is read (clips/files.py); its default
    when None."""
    normal = labels_of(normal)
    recordings = list(load_clipset_file(path, min_visibility=min_visibility).clips)
    if any(r.frame_labels is None for r in recordings):
        # a few-shot clip set (one label per clip) is the likeliest file given here by mistake
        labelled = " (its clips have labels, one action each: haad eval fewshot --dataset takes such a file)"
        raise ValueError(
            f"{path}: a recording-set file needs frame_labels (one label per frame)"
            + (labelled if any(r.label for r in recordings) else "")
        )
    missing = [n for n in normal if not any(np.any(r.frame_labels == n) for r in recordings)]
    if missing:
        found = sorted({str(x) for r in recordings for x in np.unique(r.frame_labels) if x})  # type: ignore[arg-type]
        raise ValueError(
            f"{path}: no frame is labelled {', '.join(map(repr, missing))}; labels found: {found}"
        )
    left_out = {r.name: why for r in recordings if (why := unscorable(r, spec, min_segment_s))}
    if left_out:
        log.warning(
            "%s: %d of %d recordings left out, the worker would score none of them: %s",
            path, len(left_out), len(recordings), "; ".join(f"{n}: {w}" for n, w in left_out.items()),
        )  # fmt: skip
        recordings = [r for r in recordings if r.name not in left_out]
        if not recordings:
            raise ValueError(f"{path}: no recording holds {min_segment_s:g} s of skeleton to score")
    streams, lacking, fewer = [], [], []
    for rec in recordings:
        support: tuple[Clip, ...] = ()
        if enrol:
            for behaviour in normal:
                chosen = choose_support(rec, recordings, behaviour, shots, spec, min_segment_s)
                if not chosen:
                    lacking.append(f"{rec.name} ({behaviour})" if len(normal) > 1 else rec.name)
                elif len(chosen) < shots:
                    fewer.append(len(chosen))
                support += chosen
        abnormal, normal_parts, labels = parts(rec, normal)
        streams.append(
            LabelledStream(
                f"rec:{rec.name}", rec, " + ".join(normal), abnormal, normal_parts, support, labels
            )
        )
    if fewer and not lacking:
        log.warning(
            "--shots %d: %d enrolment(s) have fewer other subjects' runs of at least %g s to take "
            "(as few as %d); enrolled from those",
            shots, len(fewer), min_segment_s, min(fewer),
        )  # fmt: skip
    if lacking:
        subjects = sorted({r.subject for r in recordings})
        raise ValueError(
            f"no other subject's recording has a normal run of at least {min_segment_s:g} s to enrol "
            f"for {', '.join(lacking)}; give --profile NAME to score against an enrolled profile (subjects: "
            f'{", ".join(map(repr, subjects))}; each recording is enrolled from other people\'s, and "" '
            "makes each recording its own)"
        )
    return RecordingSet(streams, left_out)
