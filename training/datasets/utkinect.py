"""UTKinect-Action3D: continuous Kinect v1 recordings with labelled action segments."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clips import Clip, ClipSet
from models.skeleton import from_kinect_v1
from training.datasets.base import DataNotFoundError, require_file

FOLDER = "utkinect_action3d/joints"
LABELS = "actionLabel_modified.txt"
# frame_id counts frames of the 30 fps RGB/depth recording; skeleton rows are sparser and irregular.
FRAME_RATE = 30.0
_HEADER = re.compile(r"^s(\d\d)_e(\d\d)$")


@dataclass(frozen=True)
class Segment:
    label: str
    start_s: float  # inclusive, seconds on the recording's clock
    end_s: float


@dataclass(frozen=True)
class Recording:
    """One continuous take: all skeleton rows plus its annotated segments."""

    name: str
    subject: str
    joints: np.ndarray  # (T, 20, 3) canonical
    times: np.ndarray  # (T,) seconds = frame_id / 30 (duplicate ids kept; preprocessing drops them)
    segments: tuple[Segment, ...]


def parse_labels(text: str) -> dict[str, list[tuple[str, float, float]]]:
    """``actionLabel*.txt`` -> {``sSS_eEE``: [(action, first_id, last_id), ...]} (NaN rows kept)."""
    out: dict[str, list[tuple[str, float, float]]] = {}
    current: str | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if _HEADER.match(line):
            current = line
            out[current] = []
            continue
        if current is None or ":" not in line:
            raise ValueError(f"unexpected line in UTKinect labels: {line!r}")
        action, rest = line.split(":", 1)
        first, last = (float(x) for x in rest.split())
        out[current].append((action.strip(), first, last))
    return out


def load_utkinect_recordings(data_root: Path) -> list[Recording]:
    folder = data_root / FOLDER
    if not folder.is_dir():
        raise DataNotFoundError(f"UTKinect joints folder not found at {folder}")
    labels = parse_labels(require_file(folder / LABELS, "UTKinect labels").read_text())
    recordings = []
    for key, segs in sorted(labels.items()):
        a = np.loadtxt(require_file(folder / f"joints_{key}.txt", "UTKinect joints"), dtype=np.float64)
        subject = str(int(_HEADER.match(key).group(1)))  # type: ignore[union-attr]
        segments = tuple(
            Segment(action, first / FRAME_RATE, last / FRAME_RATE)
            for action, first, last in segs
            if not (math.isnan(first) or math.isnan(last))
        )
        recordings.append(
            Recording(
                name=key,
                subject=subject,
                joints=from_kinect_v1(a[:, 1:].reshape(-1, 20, 3)),
                times=a[:, 0] / FRAME_RATE,
                segments=segments,
            )
        )
    return recordings


def load_utkinect(data_root: Path) -> ClipSet:
    """Each annotated segment of each recording as a clip (199 usable; the NaN one is counted)."""
    clips: list[Clip] = []
    dropped: dict[str, int] = {}
    recordings = load_utkinect_recordings(data_root)
    for rec in recordings:
        for seg in rec.segments:
            inside = (rec.times >= seg.start_s - 1e-9) & (rec.times <= seg.end_s + 1e-9)
            if inside.sum() < 2:
                dropped["fewer than 2 rows"] = dropped.get("fewer than 2 rows", 0) + 1
                continue
            clips.append(
                Clip(
                    joints=rec.joints[inside],
                    times=rec.times[inside],
                    label=seg.label,
                    subject=rec.subject,
                    name=f"{rec.name}:{seg.label}",
                )
            )
    labels = parse_labels(require_file(data_root / FOLDER / LABELS, "UTKinect labels").read_text())
    nan = sum(1 for segs in labels.values() for _, a, b in segs if math.isnan(a) or math.isnan(b))
    if nan:
        dropped["unannotated (NaN) segment"] = nan
    return ClipSet("utkinect", tuple(clips), dropped)
