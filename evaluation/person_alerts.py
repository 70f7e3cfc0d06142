"""Per-person alerts with two people in one camera: one does something abnormal while the other does
the normal thing (part of ``haad eval multiperson``).

Each sequence is a kinder-gator stream of ``haad eval stream`` (a test subject: normal, an abnormal
action, normal; its profile enrolled from other subjects' clips of the normal behaviour, exactly as
there) replayed as person 1, with person 2 beside them: another test subject, neither person 1 nor
one of the profile's, doing the same normal behaviour (their real recording of it, once: repeating
it would add seams no person makes) over the middle of person 1's abnormal action, entering before
it and leaving after it where their recording is long enough. Both go through the worker's own
:class:`~edge.pipeline.Pipeline` on one stream (:mod:`evaluation.person_mix`), in the same batches.

A sequence passes when person 1's abnormal part is alerted (an episode of person 1 overlapping it)
and person 2 raises no alert. Alert precision counts every episode of either person: true when it
is person 1's and overlaps the abnormal part. ``same_as_alone``: person 1's episodes are those of
person 1 replayed alone (a second person changes nothing for the first); the normal person's
episodes are compared with theirs alone too (``normal_person_alone_alerts``). Every partner that
qualifies is used, so each stream gives one sequence per partner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bus.messages import SkeletonFrame, Watched
from clips import Clip
from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.enroll import build_profile
from edge.episodes import Episode
from edge.pipeline import Pipeline
from edge.profiles import Profile
from evaluation.person_mix import Replayed, frame_grid, mix_people
from evaluation.stream_sets import LabelledStream, kinder_gator_streams

ABNORMAL, NORMAL = 1, 2  # person ids


@dataclass(frozen=True)
class PairResult:
    name: str
    partner: str  # the normal person's subject
    abnormal_alerted: bool
    abnormal_person_true_alerts: int  # person 1's episodes overlapping their abnormal part
    abnormal_person_false_alerts: int  # person 1's episodes outside their abnormal part
    normal_person_alerts: int
    normal_person_alone_alerts: int  # the normal person's episodes when replayed alone
    same_as_alone: bool

    @property
    def passed(self) -> bool:
        return self.abnormal_alerted and self.normal_person_alerts == 0


def _subject(stream: LabelledStream) -> str:
    return stream.name.split(":")[1]


def _normal_clip(stream: LabelledStream) -> Clip:
    n0, n1 = stream.normal[0]
    rec = stream.recording
    keep = (rec.times >= n0) & (rec.times <= n1)
    return Clip(rec.joints[keep], rec.times[keep], stream.normal_label, _subject(stream), stream.name)


def pairs(streams: Sequence[LabelledStream]) -> list[tuple[LabelledStream, LabelledStream]]:
    """Each stream with every partner stream of the same normal behaviour by a subject who is
    neither the stream's nor one of its profile's."""
    out = []
    for s in streams:
        taken = {_subject(s), *(c.subject for c in s.support)}
        partners = (p for p in streams if p.normal_label == s.normal_label and _subject(p) not in taken)
        out += [(s, p) for p in sorted(partners, key=_subject)]
    return out


def _normal_person(partner: LabelledStream, around: tuple[float, float], seconds: float) -> Replayed:
    """The partner's normal part, centred on ``around`` within the sequence's ``seconds``."""
    clip = _normal_clip(partner)
    length = float(clip.times[-1] - clip.times[0])
    start = min(max(0.0, (around[0] + around[1] - length) / 2), max(0.0, seconds - length))
    return Replayed(NORMAL, clip.joints, clip.times - clip.times[0], start)


def _episodes(frames: Sequence[SkeletonFrame], profile: Profile, backend: EncoderBackend,
              cfg: WorkerConfig) -> list[Episode]:  # fmt: skip
    """Every episode (as it closed) of the frames' people, through the worker's pipeline."""
    pipeline = Pipeline(cfg, backend, [profile], clock=lambda: 0.0)
    closed = []
    for i, frame in enumerate(frames):
        pipeline.push(frame)
        if i % 64 == 63:
            closed += [
                e.episode for b in pipeline.run_due(flush=True) for e in b.events if e.kind == "closed"
            ]
    pipeline.finish_streams()
    closed += [e.episode for b in pipeline.run_due(flush=True) for e in b.events if e.kind == "closed"]
    return closed + [e.episode for e in pipeline.close_all() if e.kind == "closed"]


def _same(a: Sequence[Episode], b: Sequence[Episode]) -> bool:
    """The same episodes; scores equal up to float rounding (the encoder's batches differ)."""
    return len(a) == len(b) and all(
        (x.start, x.end) == (y.start, y.end) and np.isclose(x.peak_score, y.peak_score, rtol=1e-4)
        for x, y in zip(a, b, strict=True)
    )


def _overlaps(ep: Episode, intervals: Sequence[tuple[float, float]]) -> bool:
    return any(ep.start < b and ep.end > a for a, b in intervals)


def evaluate_pair(
    stream: LabelledStream, partner: LabelledStream, backend: EncoderBackend, cfg: WorkerConfig
) -> PairResult:
    rec = stream.recording
    t0 = float(rec.times[0])
    abnormal = Replayed(ABNORMAL, rec.joints, rec.times - t0)
    parts = [(a - t0, b - t0) for a, b in stream.abnormal]
    normal = _normal_person(partner, parts[0], abnormal.end)
    support = tuple(c for c in stream.support if c.subject != _subject(partner))
    profile = build_profile(stream.normal_label, support, backend, calibration=cfg.calibration)
    grid = frame_grid([abnormal, normal])  # one camera's frame times, for the alone runs too
    both = _episodes(mix_people([abnormal, normal], "pair", grid), profile, backend, cfg)
    alone = _episodes(mix_people([abnormal], "pair", grid), profile, backend, cfg)
    normal_alone = _episodes(mix_people([normal], "pair", grid), profile, backend, cfg)
    first = [e for e in both if e.who == Watched("pair", ABNORMAL)]
    return PairResult(
        name=stream.name,
        partner=_subject(partner),
        abnormal_alerted=any(_overlaps(e, parts) for e in first),
        abnormal_person_true_alerts=sum(_overlaps(e, parts) for e in first),
        abnormal_person_false_alerts=sum(not _overlaps(e, parts) for e in first),
        normal_person_alerts=sum(e.who == Watched("pair", NORMAL) for e in both),
        normal_person_alone_alerts=len(normal_alone),
        same_as_alone=_same(first, alone),
    )


def run_person_alerts(data_root: str, backend: EncoderBackend, cfg: WorkerConfig) -> dict[str, Any]:
    """Every kinder-gator stream with a partner: per-sequence results and the totals."""
    results = [evaluate_pair(s, p, backend, cfg) for s, p in pairs(kinder_gator_streams(data_root))]
    alerts = sum(
        r.abnormal_alerted + r.abnormal_person_false_alerts + r.normal_person_alerts for r in results
    )
    true_alerts = sum(r.abnormal_alerted for r in results)
    n = len(results)
    return {
        "sequences": n,
        "passed": sum(r.passed for r in results),
        "pass_rate": sum(r.passed for r in results) / n if n else 0.0,
        "abnormal_person_recall": sum(r.abnormal_alerted for r in results) / n if n else 0.0,
        "alert_precision": true_alerts / alerts if alerts else 1.0,
        "normal_person_alerts": sum(r.normal_person_alerts for r in results),
        "normal_person_alone_alerts": sum(r.normal_person_alone_alerts for r in results),
        "abnormal_person_false_alerts": sum(r.abnormal_person_false_alerts for r in results),
        "same_as_alone": sum(r.same_as_alone for r in results),
        "pairs": [asdict(r) | {"passed": r.passed} for r in results],
    }
