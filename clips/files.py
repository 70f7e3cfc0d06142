"""Files of clips: the clip-set ``.npz`` (users' own recordings, haad's exchange format) and bare
``.npy`` skeleton arrays; :func:`load_clips` reads either.

Clip-set keys (no pickled objects; strings are numpy unicode arrays):

============== ================================ ===============================================
key            shape / type                     meaning
============== ================================ ===============================================
``joints``     (total_frames, N, 3) float       all clips' frames, concatenated; ``mediapipe33`` may be
                                                (total_frames, 33, 4): x, y, z, visibility, and
                                                ``kinect_v1`` (total_frames, 20, 4), each joint's
                                                visibility as ``haad frontend record`` writes it; a
                                                frame of every joint at (0, 0, 0) is nobody tracked
``offsets``    (clips + 1,) int                 frames of clip i are ``[offsets[i], offsets[i+1])``
``labels``     (clips,) str, optional           behaviour / action label of each clip ("" if absent)
``subjects``   (clips,) str                     who performed it (for cross-subject splits); labels,
                                                subjects and views may be one value for all clips
``layout``     () str                           ``kinect_v1`` (canonical), ``kinect_v2``,
                                                ``msr_action3d``, ``mediapipe33`` or ``smpl24``
``fps``        () or (clips,) float             frame rate (of all clips, or of each), when
                                                ``timestamps`` is absent
``timestamps`` (total_frames,) float, optional  seconds (or datetime64 / timedelta64); preferred over
                                                ``fps`` when present; frames whose time is NaN, NaT
                                                or infinite are left out
``names``      (clips,) str, optional           clip identifiers
``views``      (clips,) str, optional           the camera of each clip, when one action was
                                                filmed from several (cross-view benchmark)
``frame_labels`` (total_frames,) str, optional  what each frame shows ("" = not annotated; whole
                                                numbers are read as their text): a
                                                *recording-set* file, whose clips are continuous
                                                recordings (``haad eval stream --recordings``)
============== ================================ ===============================================

Text keys may be a column or a row of a table, and whole numbers as floats; NaN, or the text "nan",
is none ("").
"""

from __future__ import annotations

import logging
import lzma
import tokenize
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clips.clip import Clip, ClipSet
from config.worker import WorkerConfig
from models.skeleton import (
    JOINT_NAMES,
    LAYOUT_JOINTS,
    NUM_JOINTS,
    ROOT,
    TORSO,
    J,
    Layout,
    mediapipe_visibility,
    to_canonical,
    torso_length,
)

log = logging.getLogger(__name__)

REQUIRED = ("joints", "offsets", "subjects", "layout")
KEYS = (*REQUIRED, "labels", "fps", "timestamps", "names", "views", "frame_labels")
_TEXT_KEYS = ("labels", "subjects", "names", "views", "frame_labels")
# The layouts whose joints may carry a fourth value, visibility: MediaPipe's landmarks, and the
# canonical joints haad frontend record writes.
_WITH_VISIBILITY: dict[str, int] = {"mediapipe33": 33, "kinect_v1": NUM_JOINTS}
CLIP_FILE_SUFFIXES = frozenset({".npz", ".npy"})
_FORMAT_DOC = (
    "docs/benchmark.md, 'Your own data'"  # where a user reads the keys (this module may not be at hand)
)
# What a damaged or foreign file raises inside numpy's readers (a truncated zip, an empty file, ...):
# also a header numpy cannot tokenise, a zip entry's version or compression method zipfile does not
# implement, and compressed data that does not inflate, each a byte or two off in a good file, and a
# header whose shape claims more than memory holds (numpy allocates it before reading).
UNREADABLE_NUMPY = (
    MemoryError,
    OSError,
    ValueError,
    EOFError,
    KeyError,
    zipfile.BadZipFile,
    tokenize.TokenError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
)


class ClipFileError(ValueError):
    """A clip file that exists but cannot be used; the message names the file and the reason."""


def load_clips(
    path: Path,
    *,
    layout: Layout = "kinect_v1",
    fps: float = 30.0,
    label: str | None = None,
    min_visibility: float | None = None,
) -> list[Clip]:
    """The clips in ``path``: every clip of a clip-set ``.npz`` (only those labelled ``label`` when
    given), or one clip from a ``.npy`` array ``(T, N, 3)`` in ``layout`` sampled at ``fps``.
    ``min_visibility``: the worker's (:func:`load_clipset_file`).

    Raises FileNotFoundError for a missing file and :class:`ClipFileError` for anything unusable.
    """
    path = _existing(path, "clip file", CLIP_FILE_SUFFIXES)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        every = load_clipset_file(path, min_visibility=min_visibility).clips
        chosen = [c for c in every if label is None or c.label == label]
        if not chosen:
            labels = sorted({c.label for c in every if c.label})
            raise ClipFileError(
                f"{path}: no clip labelled {label!r}; its labels: {', '.join(map(repr, labels)) or 'none'}"
            )
        return chosen
    if suffix == ".npy":
        raw = None  # np.load may fail before there is an array to tell the layout by
        try:
            raw = np.load(path, allow_pickle=False)
            joints, visibility = _canonical(path, raw, layout, min_visibility)
        except ClipFileError:
            raise
        except UNREADABLE_NUMPY as e:
            raise ClipFileError(
                f"{path} is not a readable (T, N, 3) skeleton .npy: {_unreadable(path, e)}"
                + _other_layout(raw, "--layout", layout)
            ) from e
        if joints.ndim != 3 or len(joints) == 0:
            raise ClipFileError(f"{path}: expected a (T, N, 3) array with T >= 1; got shape {raw.shape}")
        times = np.arange(len(joints)) / fps
        return [Clip(_upright(path, joints), times, label or "", "", path.stem, visibility=visibility)]
    raise ClipFileError(f"{path}: a clip file is a clip-set .npz or a .npy skeleton array")


def _other_layout(raw: object, setting: str, layout: str) -> str:
    """The layout joints of another count than ``layout``'s may be in ("" if none), said as the
    ``setting`` that names it (a ``.npy``'s --layout, a clip-set file's layout key), or, where the
    count fits, the values per joint it reads: 'must have shape (..., 20, 3)' alone does not say what
    to change."""
    shape = np.shape(raw) if isinstance(raw, np.ndarray) else ()
    if len(shape) != 3:
        return ""
    if shape[1] in (3, 4) and shape[2] in LAYOUT_JOINTS.values():  # channels first, as ST-GCN keeps them
        return f"; {shape[2]} joints of {shape[1]} values, the values first: joints.transpose(0, 2, 1)?"
    if shape[-1] < 3:
        return f"; {shape[-1]} values per joint: haad reads 3D joints (x, y, z), not image keypoints"
    fits = [name for name, n in LAYOUT_JOINTS.items() if n == shape[1]]
    if not fits:  # COCO's 17 keypoints, OpenPose's 18, ...
        known = ", ".join(f"{name} {n}" for name, n in sorted(LAYOUT_JOINTS.items()))
        return f"; {shape[1]} joints: no layout haad reads has {shape[1]} ({known})"
    if layout in fits:  # the joints are right, the values beside them not (a tracking state, a presence)
        reads = 4 if layout in _WITH_VISIBILITY and shape[-1] > 4 else 3
        cut = f": joints[..., :{reads}]?" if shape[-1] > reads else ""
        said = "x, y, z and visibility" if reads == 4 else "x, y, z"
        return f"; {shape[-1]} values per joint: {setting} {layout} reads {said}{cut}"
    return f"; {shape[1]} joints: {setting} {' or '.join(fits)}?" if shape[-1] in (3, 4) else ""


def load_clipset_file(path: Path, *, min_visibility: float | None = None) -> ClipSet:
    """Every clip of a clip-set file, converted to the canonical skeleton. ``min_visibility``: the
    worker's setting (the config's ``worker.min_visibility``, its default when None) below which a
    frame of MediaPipe landmarks with visibility counts missing, so that a file is read as the live
    worker reads the same frames."""
    path = _existing(path, "clip-set file", frozenset({".npz"}))
    arrays, pickled = _read_npz(path)
    _refuse_misspelt_keys(path, [*arrays, *pickled])
    if read_pickled := [k for k in pickled if k in KEYS]:
        raise ClipFileError(
            f"{path}: {', '.join(read_pickled)}: dtype=object (pickled Python objects), which haad does not "
            'read; save text as np.array(values, dtype=str), with "" where there is none'
        )
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ClipFileError(
            f"{path}: clip-set file lacks "
            + "; ".join(f"{k} ({_required_key(k, arrays)})" for k in missing)
            + f"; {_FORMAT_DOC}"
        )
    for key in _TEXT_KEYS:
        if key in arrays:
            arrays[key] = _as_text(path, key, arrays[key])
    if "timestamps" in arrays and arrays["timestamps"].dtype.kind in "mM":  # pandas' datetimes, durations
        arrays["timestamps"] = _seconds(arrays["timestamps"])
    for key in ("joints", "offsets", "timestamps", "fps"):
        if key in arrays and arrays[key].dtype.kind not in "iuf":
            raise ClipFileError(f"{path}: {key} must be numbers ({_FORMAT_DOC}); got {arrays[key].dtype}")
    if arrays["joints"].ndim != 3:
        raise ClipFileError(
            f"{path}: joints: (frames, joints, 3); got {arrays['joints'].shape}{_reshaped(arrays['joints'])}"
        )
    layout = (
        str(_stripped(arrays["layout"].reshape(-1))[0])
        if arrays["layout"].size == 1
        else str(arrays["layout"])
    )
    if layout not in LAYOUT_JOINTS:
        raise ClipFileError(f"{path}: unknown layout {layout!r}; known: {sorted(LAYOUT_JOINTS)}")
    offsets = arrays["offsets"].astype(np.int64).reshape(-1)
    n = len(offsets) - 1
    subjects = _per_clip(arrays["subjects"], n)
    labels = _per_clip(arrays["labels"], n) if "labels" in arrays else np.full(max(n, 0), "")
    if len(offsets) == len(subjects) and arrays["subjects"].ndim:  # each clip's start, or its length
        raise ClipFileError(
            f"{path}: offsets: one more entry than clips ({len(subjects)} subjects): 0, where each clip ends, "
            "... the number of frames: np.cumsum([0] + lengths)"
        )
    total = arrays["joints"].shape[0]
    if len(labels) == total != n and arrays["labels"].ndim:
        raise ClipFileError(
            f"{path}: labels: {total} entries, one per frame, not per clip ({n}): labels of each frame go in "
            "frame_labels (haad eval stream --recordings), one action per clip in labels (haad eval fewshot)"
        )
    if len(subjects) == total != n and arrays["subjects"].ndim:
        raise ClipFileError(
            f"{path}: subjects: {total} entries, one per frame, not per clip ({n}): one subject per clip, "
            "or one for all"
        )
    if n < 1 or len(labels) != n or len(subjects) != n:
        raise ClipFileError(
            f"{path}: offsets, labels and subjects disagree on the number of clips (offsets: {max(n, 0)}, "
            f"labels: {len(labels)}, subjects: {len(subjects)})"
        )
    if offsets[0] != 0 or offsets[-1] != total or np.any(np.diff(offsets) < 0):
        raise ClipFileError(f"{path}: offsets must rise from 0 to the number of frames ({total})")
    frame_labels = arrays.get("frame_labels")
    if frame_labels is not None and frame_labels.shape != (total,):
        raise ClipFileError(f"{path}: frame_labels must be one string (or whole number) per frame ({total})")
    try:
        joints, visibility = _canonical(path, arrays["joints"], layout, min_visibility)  # type: ignore[arg-type]
        joints = _upright(path, joints)
    except ClipFileError:
        raise
    except ValueError as e:
        raise ClipFileError(f"{path}: {e}{_other_layout(arrays['joints'], 'layout', layout)}") from e
    _warn_at_origin(path, joints)
    if "timestamps" in arrays:
        times = arrays["timestamps"].astype(np.float64)
        if times.shape != (total,):
            raise ClipFileError(f"{path}: timestamps must have one entry per frame")
    elif "fps" in arrays:
        fps = arrays["fps"].astype(np.float64).reshape(-1)
        fps = np.full(n, fps[0]) if fps.size == 1 else fps  # one rate for all, or each clip's own camera
        if fps.shape != (n,) or not np.all(np.isfinite(fps) & (fps > 0)):
            raise ClipFileError(f"{path}: fps must be one positive number or one per clip ({n})")
        times = np.concatenate([np.arange(offsets[i + 1] - offsets[i]) / fps[i] for i in range(n)])
    else:
        raise ClipFileError(f"{path}: give either per-frame 'timestamps' or 'fps'")
    names = _clip_names(path, arrays, n)
    timed, offsets = _timed_frames(path, times, offsets, names)
    joints, times = joints[timed], times[timed]
    visibility = None if visibility is None else visibility[timed]
    frame_labels = None if frame_labels is None else frame_labels[timed]
    _check_times(path, times, offsets, names)
    views = _per_clip(arrays["views"], n) if "views" in arrays else np.full(n, "")
    if len(views) != n:
        raise ClipFileError(f"{path}: views must name one camera per clip ({n})")
    clips = tuple(
        Clip(
            joints=joints[offsets[i] : offsets[i + 1]],
            times=times[offsets[i] : offsets[i + 1]],
            label=str(labels[i]),
            subject=str(subjects[i]),
            name=str(names[i]),
            frame_labels=None if frame_labels is None else frame_labels[offsets[i] : offsets[i + 1]],
            view=str(views[i]),
            visibility=None if visibility is None else visibility[offsets[i] : offsets[i + 1]],
        )
        for i in range(n)
    )
    return ClipSet(path.stem, clips)


def _refuse_misspelt_keys(path: Path, keys: list[str]) -> None:
    """Refuse a key haad reads in another case or number ('label', 'Joints', 'timestamp'): other keys
    are ignored, so a file's labels so named were none, its views no cross-view, its timestamps the
    fps instead, or a required key was said to lack."""

    def spelt(key: str) -> str:  # in any case, singular or plural
        return key.lower().removesuffix("s")

    others = {spelt(k): k for k in keys if k not in KEYS}
    unread = {"fps"} if "timestamps" in keys else set()  # timestamps are read instead
    for key in KEYS:
        if key not in keys and key not in unread and (near := others.get(spelt(key))):
            raise ClipFileError(f"{path}: {near!r} is no key haad reads: {key!r}? ({_FORMAT_DOC})")


def _required_key(key: str, arrays: dict[str, np.ndarray]) -> str:
    """What a required key holds, said to the user whose file lacks it."""
    frames = arrays["joints"].shape[0] if "joints" in arrays and arrays["joints"].ndim else "N"
    return {
        "joints": "(frames, joints, 3) positions, every clip's frames one after another",
        "offsets": f"where each clip starts and ends, [0, {frames}] for one clip of {frames} frames",
        "subjects": 'who is in each clip, "" where not known',
        "layout": ", ".join(sorted(LAYOUT_JOINTS)[:-1]) + f" or {sorted(LAYOUT_JOINTS)[-1]}",
    }[key]


def _reshaped(joints: np.ndarray) -> str:
    """The reshape that makes joints of a known layout's joint count (frames, joints, 3): from
    (frames, joints * 3) columns, or from one padded array per clip (clips, frames, joints, 3), as
    NTU-style sets keep them."""
    known = LAYOUT_JOINTS.values()
    if joints.ndim == 2 and joints.shape[1] % 3 == 0 and joints.shape[1] // 3 in known:
        return f": joints.reshape({joints.shape[0]}, {joints.shape[1] // 3}, 3)?"
    if joints.ndim == 4 and joints.shape[2] in known and joints.shape[3] in (3, 4):
        clips, frames, n, values = joints.shape
        return (
            f": {clips} clips of {frames} frames? joints.reshape(-1, {n}, {values}), offsets "
            f"np.arange({clips + 1}) * {frames} (padding frames of every joint at 0 are read as missing)"
        )
    return ""


def _existing(path: Path, what: str, suffixes: frozenset[str]) -> Path:
    """``path``, ``~`` read as the home folder (a path after '=' or from a script reaches haad as
    written), refused where it is a folder (naming the files of ``suffixes`` in it) or is not there."""
    path = Path(path).expanduser()
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in suffixes and p.is_file())
        more = f" (and {len(inside) - 3} more)" if len(inside) > 3 else ""
        raise ClipFileError(
            f"{path} is a folder, not a {what}"
            + (f": give its {' or '.join(inside[:3])}{more}" if inside else "")
        )
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def _unreadable(path: Path, error: Exception) -> str:
    """Why numpy could not read ``path``, in words where its own mislead: it says 'Cannot load file
    containing pickled data' of any file that is no numpy file (a gzip'd .npz, a CSV, a JSON)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x1f\x8b"):
        return (
            "it is gzip-compressed: gunzip it first (np.savez_compressed writes a compressed .npz haad reads)"
        )
    if head and not head.startswith((b"PK", b"\x93NUMPY")):
        text = " (text: a CSV or JSON file?)" if all(32 <= b < 127 or b in b"\t\r\n" for b in head) else ""
        return f"it is no numpy file{text}; write the arrays with np.savez ({_FORMAT_DOC})"
    return str(error)


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of a .npz, and the names of those it holds as Python objects (left unread)."""
    arrays: dict[str, np.ndarray] = {}
    pickled: list[str] = []
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy: one array
            raise ClipFileError(
                f"{path} holds one array, not a clip-set .npz of joints, offsets, subjects, layout, ..."
            )
        with loaded as d:
            for k in d.files:
                try:
                    arrays[k] = d[k]
                except ValueError as e:  # dtype=object: reading it would unpickle, i.e. run, the file's code
                    if "allow_pickle" not in str(e):
                        raise
                    pickled.append(k)
    except ClipFileError:
        raise
    except UNREADABLE_NUMPY as e:
        raise ClipFileError(f"{path} is not a readable clip-set .npz: {_unreadable(path, e)}") from e
    return arrays, pickled


# A file is turned only on clear evidence: this many frames at least, most of them agreeing (real
# bodies agree in 92-100 % of frames on the Kinect datasets; random test data in about half).
_ORIENTATION_FRAMES = 20
_ORIENTATION_SHARE = 0.75
# The torso's share along another axis than y above which a frame's body lies (cos 45 degrees).
_LYING = 0.71


def _mostly(holds: np.ndarray, measure: np.ndarray) -> bool:
    """Whether ``holds`` in most frames whose ``measure`` is a number (the others say nothing)."""
    told = holds[np.isfinite(measure)]
    return len(told) >= _ORIENTATION_FRAMES and float(np.mean(told)) >= _ORIENTATION_SHARE


def _upright(path: Path, joints: np.ndarray) -> np.ndarray:
    """Canonical joints are y-up and right-handed; a file exported otherwise and declared as a
    canonical layout is turned to it as a whole, from what every body shows:

    * the shoulders below the hips by half a torso in most frames: y points down (camera
      coordinates, say): half a turn about x (y and z negated, so left stays left);
    * the feet pointing backwards from the body's front (the cross product of up and left-to-right
      hips) in most frames: the coordinates are left-handed, so left is right: x negated. On the
      Kinect datasets the feet point forwards in 92-100 % of frames.

    A torso along z or x in most frames is said with the turn that would make it upright, not turned:
    a z-up export (AMASS, motion capture) and people lying down look the same."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a bad joint says nothing (NaN)
        up = joints[:, TORSO[1]] - joints[:, TORSO[0]]
        below = up[:, 1] / np.linalg.norm(up, axis=-1)
        if _mostly(below < -0.5, below):
            log.warning("%s: the shoulders lie below the hips (y points down); turned upright", path)
            joints, up = joints * np.array([1.0, -1.0, -1.0], joints.dtype), -up
        along = np.abs(up) / np.linalg.norm(up, axis=-1, keepdims=True)
        for axis, turn in (
            ("z", "joints[..., [0, 2, 1]] * [1, 1, -1]"),
            ("x", "joints[..., [1, 0, 2]] * [-1, 1, 1]"),
        ):
            if _mostly((share := along[:, "xyz".index(axis)]) > _LYING, share):
                # said, not turned: people lying down (a bed, a fall) look the same
                log.warning(
                    "%s: the torso lies along %s, not y (up), in most frames: people lying down, or an "
                    "export whose %s points up (AMASS, most motion capture), which is scored lying: "
                    "turn such joints y-up first, %s",
                    path, axis, axis, turn,
                )  # fmt: skip
        front = np.cross(up, joints[:, J["HipRight"]] - joints[:, J["HipLeft"]])
        feet = (joints[:, J["FootLeft"]] - joints[:, J["AnkleLeft"]]
                + joints[:, J["FootRight"]] - joints[:, J["AnkleRight"]])  # fmt: skip
        along = np.sum(front * feet, -1) / (np.linalg.norm(front, axis=-1) * np.linalg.norm(feet, axis=-1))
        if _mostly(along < 0, along):
            log.warning("%s: the feet point backwards (left-handed coordinates); mirrored", path)
            joints = joints * np.array([-1.0, 1.0, 1.0], joints.dtype)
    return joints


def _canonical(
    path: Path, raw: np.ndarray, layout: Layout, min_visibility: float | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``raw`` joints of ``layout`` as canonical ones, and each one's visibility where the file gives
    it, a fourth column (None where it gives none): MediaPipe's of its landmarks, or each canonical
    joint's (a recording's). Frames the live worker would count missing are NaN."""
    given = None
    if raw.ndim == 3 and raw.shape[1:] == (_WITH_VISIBILITY.get(layout), 4):
        raw, given = raw[..., :3], np.clip(np.nan_to_num(raw[..., 3], nan=1.0), 0.0, 1.0)
    joints = _untracked_as_missing(path, _infinite_as_missing(path, to_canonical(raw, layout)))
    if layout == "mediapipe33":
        _refuse_image_landmarks(path, raw, joints)
    if given is None:
        return joints, None
    # each canonical joint as visible as the frontend makes it (as estimator.py)
    visibility = mediapipe_visibility(given) if layout == "mediapipe33" else given.astype(np.float32)
    unseen_frames_missing(path, joints, visibility, min_visibility)
    return joints, visibility


def _infinite_as_missing(path: Path, joints: np.ndarray) -> np.ndarray:
    """``joints`` with infinite coordinates made NaN (missing), in place, as said once: an exporter's
    overflow or division by zero is no position, and the worker's frames refuse it (the file's
    replay stopped at its first such frame, naming no file)."""
    infinite = np.isinf(joints).any(axis=-1)
    if infinite.any():
        joints[infinite] = np.nan
        log.warning(
            "%s: %d of %d frames hold infinite joints (%s): read as missing (NaN)",
            path, int(infinite.any(axis=-1).sum()), len(joints),
            "every joint" if infinite.any(axis=0).all()
            else ", ".join(JOINT_NAMES[j] for j in np.flatnonzero(infinite.any(axis=0))),
        )  # fmt: skip
    return joints


def _untracked_as_missing(path: Path, joints: np.ndarray) -> np.ndarray:
    """``joints`` with frames whose every joint is at exactly (0, 0, 0) made NaN (missing), in place,
    as said once: Kinect SDKs and NTU-style exports write such a frame for nobody tracked, and no body
    is one point (a single joint there may be measured: :func:`_warn_at_origin`)."""
    untracked = np.all(joints == 0.0, axis=(-2, -1))
    if untracked.any():
        joints[untracked] = np.nan
        log.warning(
            "%s: %d of %d frames hold every joint at exactly (0, 0, 0), a tracker's frame of nobody "
            "tracked: read as missing (NaN)",
            path, int(untracked.sum()), untracked.size,
        )  # fmt: skip
    return joints


def _refuse_image_landmarks(path: Path, raw: np.ndarray, joints: np.ndarray) -> None:
    """Refuse MediaPipe's normalised image landmarks given for its world landmarks. World landmarks
    are hip-centred: on MediaPipe's own squat video the hips' midpoint lies a median 0.006 torso
    lengths from the origin; in its image landmarks 2.9, with every x and y a fraction of the frame
    (read as metres: a body squeezed by the frame's aspect, its depth in widths of the image)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mid_hip = 0.5 * (joints[:, J["HipLeft"]] + joints[:, J["HipRight"]])
        away = np.linalg.norm(mid_hip, axis=-1) / torso_length(joints)
        xy = raw[..., :2]
        fractions = bool(np.all(np.isnan(xy) | ((xy >= 0) & (xy <= 1))))
    away = away[np.isfinite(away)]
    if fractions and len(away) and (median := float(np.median(away))) > 1.0:
        raise ClipFileError(
            f"{path}: joints look like MediaPipe's normalised image landmarks (every x and y in [0, 1], "
            f"the hips {median:.1f} torso lengths from the origin); layout mediapipe33 reads its world "
            "landmarks (pose_world_landmarks: metres, hip-centred)"
        )


# The live worker counts a frame missing when the mean visibility of its present joints is under
# worker.min_visibility (bus.messages' pose quality, edge.window); a reader given no config's value
# (the few-shot benchmark) follows the setting's default, the one WorkerConfig holds.
_DEFAULT_MIN_VISIBILITY: float = WorkerConfig.model_fields["min_visibility"].default


def unseen_frames_missing(
    path: Path, joints: np.ndarray, visibility: np.ndarray, min_visibility: float | None
) -> None:
    """Make NaN, in place, the frames whose canonical ``visibility`` (frames, 20) the worker would
    count missing."""
    least = _DEFAULT_MIN_VISIBILITY if min_visibility is None else min_visibility
    present = np.isfinite(joints).all(axis=-1)
    counted = present.sum(axis=-1)
    mean = np.where(present, visibility, 0.0).sum(axis=-1) / np.maximum(counted, 1)
    unseen = (counted > 0) & (mean < least)
    joints[unseen] = np.nan
    if unseen.any():
        log.warning(
            "%s: %d of %d frames have a mean visibility under %g: left out as missing, as the worker "
            "leaves them out (gaps up to max_gap_s are filled)",
            path, int(unseen.sum()), len(joints), least,
        )  # fmt: skip


def _timed_frames(
    path: Path, times: np.ndarray, offsets: np.ndarray, names: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which frames have a time (NaN or infinite: none, so they cannot be placed and are left out),
    and the offsets of the clips once the others are; said once for the file."""
    timed = np.isfinite(times)
    if timed.all():
        return timed, offsets
    kept_offsets = np.concatenate([[0], np.cumsum(timed)])[offsets]
    hit = names[np.flatnonzero(np.diff(offsets) != np.diff(kept_offsets))]
    log.warning(
        "%s: %d of %d frames have a timestamp that is not a number (NaN or infinite): left out (clips %s%s)",
        path, int(np.sum(~timed)), len(times), ", ".join(map(str, hit[:5])),
        f" and {len(hit) - 5} more" if len(hit) > 5 else "",
    )  # fmt: skip
    return timed, kept_offsets


def _warn_at_origin(path: Path, joints: np.ndarray) -> None:
    """Say where joints other than the root sit at exactly (0, 0, 0): what some trackers write for a
    joint they lost, where a clip-set file has NaN. They are read as positions all the same (a
    measured joint can be there), but scored so, a lost leg looks like a leg folded into the camera."""
    at_origin = np.all(joints == 0.0, axis=-1)
    at_origin[:, ROOT] = False  # a hip-centred export has its root there in every frame
    frames = int(np.sum(at_origin.any(axis=1)))
    if frames:
        names = ", ".join(JOINT_NAMES[j] for j in np.flatnonzero(at_origin.any(axis=0)))
        log.warning(
            "%s: %d of %d frames hold joints at exactly (0, 0, 0) (%s); read as positions: if the "
            "tracker lost them there, write NaN instead",
            path, frames, len(joints), names,
        )  # fmt: skip


def _clip_names(path: Path, arrays: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Each clip's name, unique within the file: the file's ``names`` where given, else
    ``<file>:<index>``. Names key the clips (a recording's enrolment from other recordings, the
    summary's streams), so a blank or repeated name gets its clip's index too, as is said once."""
    if "names" not in arrays:
        return np.array([f"{path.stem}:{i}" for i in range(n)])
    given = _per_clip(arrays["names"], n)
    if given.shape != (n,):
        raise ClipFileError(f"{path}: names: one per clip ({n}); got {given.size}")
    counts = Counter(given.tolist())
    repeated = [i for i, name in enumerate(given) if name and counts[name] > 1]
    blank = [i for i, name in enumerate(given) if not name]
    if not repeated and not blank:
        return given
    names = given.tolist()
    for i in repeated + blank:
        names[i] = f"{given[i] or path.stem}:{i}"
    log.warning(
        "%s: %d clip names repeat and %d %s blank; each of those is named with its index too (%s)",
        path, len(repeated), len(blank), "is" if len(blank) == 1 else "are",
        ", ".join(names[i] for i in sorted(repeated + blank)[:5]),
    )  # fmt: skip
    return np.array(names)


def _per_clip(values: np.ndarray, n: int) -> np.ndarray:
    """A per-clip key as one entry per clip: a single value (one person's clips) is every clip's."""
    return np.full(max(n, 0), values.item(), values.dtype) if values.ndim == 0 else values


def _stripped(values: np.ndarray) -> np.ndarray:
    """Text with byte strings decoded, numbers written out, and the blanks around it dropped (a "walk "
    in some recordings is the "walk" of the others)."""
    values = np.asarray(values)
    text = np.char.decode(values, "utf-8", "replace") if values.dtype.kind == "S" else values.astype(str)
    return np.char.strip(text)


def _as_text(path: Path, key: str, values: np.ndarray) -> np.ndarray:
    """A per-clip or per-frame key (labels, subjects, ...) as stripped text, one entry each:

    * a column or a row (a table's column, ``df[["label"]].to_numpy()``) is its entries;
    * floats (a pandas column of whole numbers with gaps) are those numbers, NaN none (""), as is the
      text "nan" such a column's ``astype(str)`` gives: read as a label, an unannotated stretch
      would be an action."""
    if values.ndim > 1:
        if sum(d > 1 for d in values.shape) > 1:
            each = "frame" if key == "frame_labels" else "clip"
            raise ClipFileError(f"{path}: {key}: one entry per {each}; got a {values.shape} table")
        values = values.reshape(-1)
    if values.dtype.kind == "f":
        numbers = values[~np.isnan(values)]
        if len(odd := numbers[~np.isfinite(numbers) | (numbers != np.round(numbers))]):
            raise ClipFileError(f"{path}: {key}: {odd[0]:g} is no whole number; give text, or whole numbers")
        values = np.where(np.isnan(values), "", np.nan_to_num(values).astype(np.int64).astype(str))
    text = _composed(_stripped(values))
    missing = np.char.lower(text) == "nan"
    if missing.any():
        log.warning(
            '%s: %s: %d of %d are "nan" (a missing value written as text): read as none ("")',
            path, key, int(missing.sum()), missing.size,
        )  # fmt: skip
        text = np.where(missing, "", text)
    return text


def _composed(text: np.ndarray) -> np.ndarray:
    """``text`` in Unicode's composed form (NFC): a label from a macOS folder name spells "ü" as "u"
    and a combining mark, the same label typed elsewhere as one character."""
    kinds, where = np.unique(text, return_inverse=True)
    return np.array([unicodedata.normalize("NFC", str(k)) for k in kinds], dtype=str)[where].reshape(
        text.shape
    )


# Seconds between two frames beyond which timestamps are taken to be in another unit (milliseconds):
# read as seconds they would stretch every clip a thousandfold.
_MAX_MEDIAN_STEP_S = 0.5
# The units a median step of frames over _MAX_MEDIAN_STEP_S is likeliest in, largest step first:
# a camera's frames are 1/120 to 1/2 s apart.
_FINER_UNITS = ((2e6, "nanoseconds", "1e9"), (2000.0, "microseconds", "1e6"), (0.0, "milliseconds", "1000"))


def _seconds(times: np.ndarray) -> np.ndarray:
    """Datetimes (as seconds since 1970) or durations as seconds; NaT is NaN (a frame left out)."""
    zero = np.datetime64(0, "s") if times.dtype.kind == "M" else np.timedelta64(0, "s")
    return np.asarray((times - zero) / np.timedelta64(1, "s"), dtype=np.float64)


def _check_times(path: Path, times: np.ndarray, offsets: np.ndarray, names: np.ndarray) -> None:
    """Refuse timestamps that go back within a clip or are not in seconds (every one a number)."""
    steps = []
    for i in range(len(offsets) - 1):
        t = times[offsets[i] : offsets[i + 1]]
        step = np.diff(t)
        back = np.flatnonzero(step < 0)  # NaN compares False
        if len(back):
            k = int(back[0]) + 1
            raise ClipFileError(
                f"{path}: clip {names[i]}: time goes back at frame {k} ({t[k - 1]:.3f} -> {t[k]:.3f} s); "
                "a clip's timestamps must rise (a recording of several sessions is several clips)"
            )
        repeats = int(np.sum(step == 0))
        if repeats > len(step) / 2:  # the reader drops such frames: nearly all of the clip would go
            raise ClipFileError(
                f"{path}: clip {names[i]}: {repeats} of {len(t)} frames have the time of the frame before; "
                "timestamps are seconds that differ per frame (float32 cannot hold Unix times: use float64 "
                "or seconds from the recording's start)"
            )
        steps.append(step[step > 0])
    every = np.concatenate(steps) if steps else np.zeros(0)
    if len(every) and (median := float(np.median(every))) > _MAX_MEDIAN_STEP_S:
        unit, divisor = next((u, d) for least, u, d in _FINER_UNITS if median > least)
        raise ClipFileError(
            f"{path}: frames are a median {median:g} apart; timestamps are in seconds ({unit}? divide by {divisor})"
        )


def save_clipset_file(path: Path, clips: Sequence[Clip]) -> None:
    """Write canonical clips as a clip-set file (layout ``kinect_v1``, per-frame timestamps), with
    ``frame_labels`` when any clip has them (the others' frames get ""), and each joint's visibility
    as a fourth column when any clip has it (the others' joints 1): a reader judges the frames by
    its worker.min_visibility as the worker judges them live."""
    if not clips:
        raise ValueError("no clips to save")
    offsets = np.concatenate([[0], np.cumsum([len(c.joints) for c in clips])])
    joints = np.concatenate([c.joints for c in clips])
    if any(c.visibility is not None for c in clips):
        seen = [np.ones(c.joints.shape[:2]) if c.visibility is None else c.visibility for c in clips]
        joints = np.concatenate([joints, np.concatenate(seen)[..., None]], axis=-1)
    extra = {}
    if any(c.view for c in clips):
        extra["views"] = np.array([c.view for c in clips])
    if any(c.frame_labels is not None for c in clips):
        extra["frame_labels"] = np.concatenate(
            [
                np.full(len(c.joints), "") if c.frame_labels is None else np.asarray(c.frame_labels, str)
                for c in clips
            ]
        )
    np.savez_compressed(
        path,
        **extra,
        joints=joints.astype(np.float32),
        offsets=offsets.astype(np.int64),
        labels=np.array([c.label for c in clips]),
        subjects=np.array([c.subject for c in clips]),
        names=np.array([c.name for c in clips]),
        timestamps=np.concatenate([c.times for c in clips]).astype(np.float64),
        layout=np.array("kinect_v1"),
    )
