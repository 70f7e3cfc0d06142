"""Labelled streams for ``haad eval stream``: built-in sets made from the shared datasets.

* ``kinder-gator``: for each Kinder-Gator test participant and each (normal, abnormal) pair below,
  that participant's clip of the normal motion, then their clip of an unseen abnormal motion, then the
  normal clip again, joined by 0.5 s blends (the body is moved so it does not jump); the profile is
  enrolled from 3 clips of the normal motion by other test participants;
* ``kinder-gator-short``: the same participants and normal motions with *every* abnormal motion, the
  abnormal clip cut to its most active 1.25, 1.75, 2.25 or 2.75 s (in rotation): short abnormal
  actions inside a long normal stream;
* ``kinder-gator-short-gaps``: the same streams as ``kinder-gator-short`` with 1 s without anybody
  in view before and after the abnormal action (the person steps in, does it, steps out; the camera
  sends its frames without a person meanwhile): each part is a segment of its own, and the short
  action is scored by the short-segment rule alone;
* ``kinder-gator-dense``, ``msr-dense``, ``nw-ucla-dense``: per test person and normal behaviour
  (and camera view), abnormal parts of 0.5-2 s alternating with normal parts of 0.5-2 s, after and
  before 3 s of normal (:func:`_dense`); the profile is enrolled from other test people's normal clips;
* ``utkinect``: every continuous UTKinect recording with every action as "normal"; the profile is
  enrolled from 3 segments of that action by other subjects; all other annotated segments are the
  abnormal parts, unannotated stretches between actions are left out of the frame metrics;
* ``kinder-gator-calm``: per Kinder-Gator test participant, three recordings of calm stretches of
  0.8-1.5 s (the slow starts and ends of their clips) between three strikes of about a second (the
  most active second of a punch, kick or throw), the shape of sudden aggression between calm moments;
  the profile is enrolled from the longest calm stretch of each of 3 other participants;
* ``utkinect-behaviours``: the same recordings with three actions done one after another normal at
  once (walk, sit down, stand up; sit down, stand up, pick up; ...): a profile of three behaviours,
  each enrolled from 3 segments of it by other subjects.

Users' own recordings (a recording-set file) become streams in :mod:`evaluation.recordings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clips import Clip
from edge.vigour import speeds
from models.skeleton import ROOT
from training.datasets import load_dataset, resolve_data_root
from training.datasets.utkinect import load_utkinect_recordings
from training.protocol import KINDER_GATOR, SPLITS

Interval = tuple[float, float]
BLEND_S = 0.5
SHOTS = 3
# Normal behaviours a site might enrol, and the unseen motions played as the abnormal part.
KG_NORMAL = ("Walk-in-place", "Wave-your-hand", "Run-in-place", "Climb-and-imaginary-ladder", "Draw-a-square")
KG_ABNORMAL = ("Punch", "Kick-a-ball", "Jump", "Throw-a-ball-", "Bow", "Do-a-forward-lunge")
# Lengths the abnormal clips of kinder-gator-short are cut to (seconds), in rotation.
SHORT_ABNORMAL_S = (1.25, 1.75, 2.25, 2.75)
GAP_S = 1.0  # nobody in view around the abnormal part of kinder-gator-short-gaps
# Dense sets: abnormal and normal parts of 0.5-2 s alternating (about the length of a punch or a shove).
DENSE_PART_S = np.arange(0.5, 2.01, 0.25)
DENSE_PARTS = 6  # abnormal parts per stream
DENSE_LEAD_S = 3.0  # normal before the first and after the last abnormal part
DENSE_BLEND_S = 0.2
MSR_NORMAL = (
    "a16 jogging",
    "a01 high arm wave",
    "a11 two hand wave",
    "a10 hand clap",
    "a02 horizontal arm wave",
)
MSR_ABNORMAL = (
    "a05 forward punch",
    "a14 forward kick",
    "a15 side kick",
    "a12 side-boxing",
    "a06 high throw",
    "a13 bend",
)
UTK_ORDER = (
    "walk",
    "sitDown",
    "standUp",
    "pickUp",
    "carry",
    "throw",
    "push",
    "pull",
    "waveHands",
    "clapHands",
)
# Several behaviours normal at once: three actions done one after another in every recording.
UTK_BEHAVIOURS = tuple(UTK_ORDER[i : i + 3] for i in range(len(UTK_ORDER) - 2))
# kinder-gator-calm: strikes, and calm as mean joint speed about the root (over 5 frames) under CALM_SPEED
STRIKES = (
    "Punch",
    "Kick-a-ball",
    "Kick-a-ball-with-the-other-leg",
    "Kick-a-ball-as-far-as-you-can",
    "Throw-a-ball-",
)
CALM_SPEED = 0.25  # m/s
CALM_S = (0.8, 1.5)  # shortest calm stretch taken, and the most of it kept
STRIKE_S = 1.0
NW_UCLA_NORMAL = ("walk_around", "carry")
NW_UCLA_ABNORMAL = (
    "throw",
    "drop_trash",
    "pick_up_with_one_hand",
    "pick_up_with_two_hands",
    "sit_down",
    "stand_up",
)


@dataclass(frozen=True)
class LabelledStream:
    """A recording with ground truth: ``abnormal`` / ``normal`` intervals (source seconds) and the
    clips its profile is enrolled from (empty when a given profile is used); ``abnormal_labels``:
    the action of each abnormal interval ("" where unknown)."""

    name: str
    recording: Clip
    normal_label: str
    abnormal: tuple[Interval, ...]
    normal: tuple[Interval, ...]
    support: tuple[Clip, ...]
    abnormal_labels: tuple[str, ...] = ()

    def label_of(self, part: int) -> str:
        return self.abnormal_labels[part] if part < len(self.abnormal_labels) else ""


def _blend(
    a: Clip, b: Clip, fps: float = 30.0, blend_s: float = BLEND_S
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A linear blend from ``a``'s last pose into ``b``, and ``b`` moved so its root continues
    ``a``'s (x, z): (blend joints, blend times, moved joints, moved times)."""
    shift = a.joints[-1, ROOT] - b.joints[0, ROOT]
    shift[1] = 0.0  # keep the floor height
    moved = b.joints + shift
    n = max(1, int(blend_s * fps))
    w = (np.arange(1, n + 1) / (n + 1))[:, None, None]
    blend = (1 - w) * a.joints[-1] + w * moved[0]
    t_blend = a.times[-1] + np.arange(1, n + 1) / fps
    t_b = t_blend[-1] + 1 / fps + (b.times - b.times[0])
    return blend.astype(np.float32), t_blend, moved.astype(np.float32), t_b


def stitch(parts: Sequence[Clip], blend_s: float = BLEND_S) -> tuple[np.ndarray, np.ndarray, list[Interval]]:
    """Concatenate clips with blends; returns joints, times and each part's time span."""
    joints, times = [parts[0].joints], [parts[0].times - parts[0].times[0]]
    spans = [(float(times[0][0]), float(times[0][-1]))]
    prev = Clip(parts[0].joints, times[0])
    for nxt in parts[1:]:
        blend, t_blend, moved, t_moved = _blend(prev, nxt, blend_s=blend_s)
        joints += [blend, moved]
        times += [t_blend, t_moved]
        spans.append((float(t_moved[0]), float(t_moved[-1])))
        prev = Clip(moved, t_moved)
    return np.concatenate(joints), np.concatenate(times), spans


def join_with_gaps(parts: Sequence[Clip], gap_s: float) -> tuple[np.ndarray, np.ndarray, list[Interval]]:
    """Concatenate clips with ``gap_s`` seconds of nobody in view between them: frames at the
    preceding clip's rate with every joint NaN, which a frontend sends as frames without a person
    (evaluation.stream.frames_of), so the stream goes on and the person leaves it, as a live camera
    shows it (no frames at all would be a hole: an outage); returns joints, times and each part's
    time span."""
    joints: list[np.ndarray] = []
    times: list[np.ndarray] = []
    spans: list[Interval] = []
    end = -gap_s
    for p in parts:
        start = end + gap_s
        if spans:
            step = float(np.median(np.diff(times[-1])))
            empty = end + step * np.arange(1, int(np.ceil(gap_s / step - 1e-6)))  # before `start`
            joints.append(np.full((len(empty), *p.joints.shape[1:]), np.nan, np.float32))
            times.append(empty)
        t = p.times - p.times[0] + start
        joints.append(p.joints)
        times.append(t)
        spans.append((float(t[0]), float(t[-1])))
        end = float(t[-1])
    return np.concatenate(joints), np.concatenate(times), spans


def most_active(clip: Clip, seconds: float) -> Clip:
    """The ``seconds``-long stretch of ``clip`` whose joints move the most (the whole clip if shorter)."""
    t = clip.times
    if t[-1] - t[0] <= seconds:
        return clip
    speed = np.nan_to_num(np.linalg.norm(np.diff(clip.joints, axis=0), axis=-1).sum(axis=-1))  # (T-1,)
    motion = np.concatenate([[0.0], np.cumsum(speed)])  # motion up to frame i
    ends = np.searchsorted(t, t + seconds, side="right") - 1  # last frame within `seconds` of each
    starts = np.flatnonzero(t + seconds <= t[-1])
    best = int(starts[np.argmax(motion[ends[starts]] - motion[starts])])
    keep = slice(best, int(ends[best]) + 1)
    return Clip(clip.joints[keep], t[keep], clip.label, clip.subject, f"{clip.name}[{seconds:g}s]")


def _kinder_gator(data_root: str | None, short: bool, gaps: bool = False) -> list[LabelledStream]:
    kg = load_dataset("kinder-gator", data_root)
    test = [c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects]
    by = {(c.subject, c.label): c for c in test}
    streams = []
    for i, subject in enumerate(sorted(KINDER_GATOR.test_subjects)):
        for j, normal in enumerate(KG_NORMAL):
            abnormals = KG_ABNORMAL if short else (KG_ABNORMAL[(i + j) % len(KG_ABNORMAL)],)
            for k, abnormal in enumerate(abnormals):
                if (subject, normal) not in by or (subject, abnormal) not in by:
                    continue
                n, a = by[(subject, normal)], by[(subject, abnormal)]
                if short:
                    a = most_active(a, SHORT_ABNORMAL_S[(i + j + k) % len(SHORT_ABNORMAL_S)])
                joints, times, spans = join_with_gaps([n, a, n], GAP_S) if gaps else stitch([n, a, n])
                support = tuple(c for c in test if c.label == normal and c.subject != subject)[:SHOTS]
                streams.append(
                    LabelledStream(
                        f"kg:{subject}:{normal}->{a.name if short else abnormal}", Clip(joints, times),
                        normal, (spans[1],), (spans[0], spans[2]), support, (abnormal,),
                    )
                )  # fmt: skip
    return streams


def kinder_gator_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _kinder_gator(data_root, short=False)


def kinder_gator_short_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _kinder_gator(data_root, short=True)


def kinder_gator_short_gaps_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _kinder_gator(data_root, short=True, gaps=True)


def _utkinect(data_root: str | None, normal_sets: Sequence[tuple[str, ...]] | None) -> list[LabelledStream]:
    """Each UTKinect recording once per set of normal behaviours (None: each of its actions alone),
    enrolled with ``SHOTS`` segments of each by other subjects; its other segments are abnormal."""
    recordings = load_utkinect_recordings(resolve_data_root(data_root))
    segments = [(r, s) for r in recordings for s in r.segments]
    streams = []
    for rec in recordings:
        t0 = rec.times[0]
        labels = {s.label for s in rec.segments}
        wanted = [(label,) for label in sorted(labels)] if normal_sets is None else normal_sets
        for normal in (n for n in wanted if set(n) <= labels):
            support: list[Clip] = []
            for label in normal:
                found = [
                    (other, seg)
                    for other, seg in segments
                    if other.subject != rec.subject and seg.label == label
                ][:SHOTS]
                for other, seg in found:
                    inside = (other.times >= seg.start_s) & (other.times <= seg.end_s)
                    support.append(
                        Clip(
                            other.joints[inside],
                            other.times[inside],
                            label,
                            other.subject,
                            f"{other.name}:{label}",
                        )
                    )
            streams.append(
                LabelledStream(
                    f"utk:{rec.name}:{'+'.join(normal)}", Clip(rec.joints, rec.times - t0), " + ".join(normal),
                    tuple((s.start_s - t0, s.end_s - t0) for s in rec.segments if s.label not in normal),
                    tuple((s.start_s - t0, s.end_s - t0) for s in rec.segments if s.label in normal),
                    tuple(support), tuple(s.label for s in rec.segments if s.label not in normal),
                )
            )  # fmt: skip
    return streams


def utkinect_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _utkinect(data_root, None)


def utkinect_behaviours_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _utkinect(data_root, UTK_BEHAVIOURS)


def label_runs(labels: np.ndarray) -> list[tuple[str, int, int]]:
    """``(label, start, stop)`` for every run of equal labels, ``[start, stop)`` frame indices."""
    if len(labels) == 0:
        return []
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    bounds = np.concatenate([[0], change, [len(labels)]])
    return [(str(labels[a]), int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def calm_stretches(clip: Clip) -> list[Clip]:
    """The stretches of ``clip`` where its joints barely move about the root (``CALM_SPEED``), each
    at least ``CALM_S[0]`` long, cut to at most ``CALM_S[1]``."""
    speed = speeds(clip.joints, np.diff(clip.times), torso=False)  # m/s
    calm = np.concatenate(
        [[False], np.convolve(np.nan_to_num(speed, nan=np.inf), np.ones(5) / 5, "same") < CALM_SPEED]
    )
    out = []
    for still, a, b in label_runs(calm):
        t = clip.times[a:b]
        if still == "True" and t[-1] - t[0] >= CALM_S[0]:
            keep = t <= t[0] + CALM_S[1]
            out.append(
                Clip(clip.joints[a:b][keep], t[keep], "calm", clip.subject, f"{clip.name}:calm@{t[0]:.2f}")
            )
    return out


def kinder_gator_calm_streams(data_root: str | None = None) -> list[LabelledStream]:
    kg = load_dataset("kinder-gator", data_root)
    subjects = sorted(KINDER_GATOR.test_subjects)
    calm: dict[str, list[Clip]] = {}
    strikes: dict[str, list[Clip]] = {}
    for c in sorted((c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects), key=lambda c: c.name):
        if c.label in STRIKES:
            strikes.setdefault(c.subject, []).append(most_active(c, STRIKE_S))
        else:
            calm.setdefault(c.subject, []).extend(calm_stretches(c))
    ready = [s for s in subjects if len(calm.get(s, [])) >= 2 and len(strikes.get(s, [])) >= 3]
    streams = []
    for i, subject in enumerate(ready):
        others = [ready[(i + k) % len(ready)] for k in range(1, len(ready))][:SHOTS]
        support = tuple(max(calm[o], key=lambda c: c.duration_s) for o in others)
        for rep in range(3):
            rng = np.random.default_rng([i, rep])
            still = [calm[subject][k] for k in rng.permutation(len(calm[subject]))]
            picked = [strikes[subject][k] for k in rng.choice(len(strikes[subject]), 3, replace=False)]
            pieces = [still[0]]
            for k, strike in enumerate(picked):
                pieces += [strike, still[(k + 1) % len(still)]]
            joints, times, spans = stitch(pieces, DENSE_BLEND_S)
            streams.append(
                LabelledStream(
                    f"kinder-gator-calm:{subject}:{rep}", Clip(joints, times), "calm", tuple(spans[1::2]),
                    tuple(spans[0::2]), support, tuple(c.label for c in picked),
                )
            )  # fmt: skip
    return streams


def _piece(clips: Sequence[Clip], k: int, seconds: float, rng: np.random.Generator) -> Clip:
    """``seconds`` of clip ``k`` (cycling through ``clips``) from a random start; the whole clip if shorter."""
    clip = clips[k % len(clips)]
    t = clip.times
    if t[-1] - t[0] <= seconds:
        return clip
    start = t[0] + rng.uniform(0.0, t[-1] - t[0] - seconds)
    keep = (t >= start) & (t <= start + seconds)
    return Clip(clip.joints[keep], t[keep], clip.label, clip.subject, f"{clip.name}[{seconds:g}s]")


def _dense(
    dataset: str,
    data_root: str | None,
    normals: Sequence[str],
    abnormals: Sequence[str],
    views: Sequence[str] = ("",),
) -> list[LabelledStream]:
    """For each test person, normal behaviour and view (a clip-name suffix): a normal lead-in, then
    ``DENSE_PARTS`` times an abnormal part (the most active stretch of that person's clip of the next
    abnormal action) and a normal part (a stretch of their normal clips), each ``DENSE_PART_S`` long,
    joined by ``DENSE_BLEND_S`` blends; enrolled from other test people's normal clips of the view."""
    split = SPLITS[dataset]
    clips = sorted(
        (c for c in load_dataset(dataset, data_root).clips if c.subject in split.test_subjects),
        key=lambda c: c.name,
    )
    streams = []
    for v, view in enumerate(views):
        by: dict[tuple[str, str], list[Clip]] = {}
        for c in clips:
            if c.name.endswith(view):
                by.setdefault((c.subject, c.label), []).append(c)
        for i, subject in enumerate(sorted(split.test_subjects)):
            for j, normal in enumerate(normals):
                own = [a for a in abnormals if (subject, a) in by]
                if (subject, normal) not in by or not own:
                    continue
                rng = np.random.default_rng([v, i, j])
                pieces = [_piece(by[(subject, normal)], 0, DENSE_LEAD_S, rng)]
                labels = []
                for k in range(DENSE_PARTS):
                    label = own[(i + j + k) % len(own)]
                    labels.append(label)
                    pieces.append(most_active(by[(subject, label)][0], float(rng.choice(DENSE_PART_S))))
                    rest = DENSE_LEAD_S if k == DENSE_PARTS - 1 else float(rng.choice(DENSE_PART_S))
                    pieces.append(_piece(by[(subject, normal)], k + 1, rest, rng))
                joints, times, spans = stitch(pieces, DENSE_BLEND_S)
                others: dict[str, Clip] = {}  # one clip per other person, then more of theirs
                extra = [
                    c for (s, lab), cs in sorted(by.items()) if s != subject and lab == normal for c in cs
                ]
                for c in extra:
                    others.setdefault(c.subject, c)
                support = (list(others.values()) + [c for c in extra if c not in others.values()])[:SHOTS]
                streams.append(
                    LabelledStream(
                        f"{dataset}-dense:{subject}:{normal}{':' + view if view else ''}", Clip(joints, times),
                        normal, tuple(spans[1::2]), tuple(spans[0::2]), tuple(support), tuple(labels),
                    )
                )  # fmt: skip
    return streams


def kinder_gator_dense_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _dense("kinder-gator", data_root, KG_NORMAL, KG_ABNORMAL)


def msr_dense_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _dense("msr", data_root, MSR_NORMAL, MSR_ABNORMAL)


def nw_ucla_dense_streams(data_root: str | None = None) -> list[LabelledStream]:
    return _dense("nw-ucla", data_root, NW_UCLA_NORMAL, NW_UCLA_ABNORMAL, views=("v01", "v02", "v03"))


STREAM_SETS: dict[str, Callable[[str | None], list[LabelledStream]]] = {
    "kinder-gator": kinder_gator_streams,
    "kinder-gator-short": kinder_gator_short_streams,
    "kinder-gator-short-gaps": kinder_gator_short_gaps_streams,
    "kinder-gator-calm": kinder_gator_calm_streams,
    "utkinect": utkinect_streams,
    "utkinect-behaviours": utkinect_behaviours_streams,
    "kinder-gator-dense": kinder_gator_dense_streams,
    "msr-dense": msr_dense_streams,
    "nw-ucla-dense": nw_ucla_dense_streams,
}
