"""How far each second's vigour (edge/vigour.py) lies from its profile's reference, on every second of
the built-in stream sets: the share of normal and of abnormal seconds at or over each factor.

    python docs/experiments/2026-12-06-vigour/separation.py kinder-gator-calm kinder-gator ... [FILE:LABEL]

FILE:LABEL: a recording-set file whose LABEL frames are normal, enrolled as ``haad eval stream
--recordings FILE --normal LABEL`` enrols.

A second is normal (abnormal) where at least 75 % of it lies in a normal (abnormal) part; each
stream's reference is its support clips' most vigorous second, as enrolment records it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edge.vigour import SECOND_S, STRIDE, enrolled_reference, speeds
from evaluation.recordings import read_recording_set
from evaluation.stream_sets import STREAM_SETS, LabelledStream
from models.preprocess import WindowSpec, clip_frames

FACTORS = (2.0, 2.5, 3.0, 4.0)


def covered(a: float, b: float, parts: tuple[tuple[float, float], ...]) -> float:
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in parts) / (b - a)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def streams_of(name: str, spec: WindowSpec) -> list[LabelledStream]:
    if ":" in name:
        path, label = name.rsplit(":", 1)
        return read_recording_set(
            Path(path), [label], shots=3, spec=spec, min_segment_s=1.0, enrol=True
        ).streams
    return STREAM_SETS[name](None)


def main(names: list[str]) -> None:
    spec = WindowSpec()
    n = round(SECOND_S * spec.fps) - 1  # speeds per second
    for name in names:
        normal, abnormal, references = [], [], []
        for stream in streams_of(name, spec):
            ref = enrolled_reference([clip_frames(c.joints, c.times, spec) for c in stream.support], spec.fps)
            references.append(ref)
            rec = stream.recording
            s = speeds(clip_frames(rec.joints, rec.times, spec), 1 / spec.fps)
            for i in range(0, len(s) - n + 1, STRIDE):
                a = rec.times[0] + i / spec.fps
                b = a + SECOND_S
                ratio = float(np.median(s[i : i + n])) / ref
                if covered(a, b, stream.normal) >= 0.75:
                    normal.append(ratio)
                elif covered(a, b, stream.abnormal) >= 0.75:
                    abnormal.append(ratio)
        no, ab = np.array(normal), np.array(abnormal)
        sys.stdout.write(
            f"| {name} | {np.median(references):.2f} | {len(no)} / {len(ab)} | {auc(ab, no):.3f} | "
            + " | ".join(f"{np.mean(no >= f):.3f} / {np.mean(ab >= f):.3f}" for f in FACTORS)
            + " |\n"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
