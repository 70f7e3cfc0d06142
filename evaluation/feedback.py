"""``haad eval stream --feedback K``: what "mark as normal" buys, measured with a simulated reviewer.

For every labelled stream of ``haad eval stream`` (evaluation/stream_sets.py, or a recording-set
file): replay it against its enrolled profile (before); a reviewer, deciding that the action an alert
caught is normal at this camera, marks the first ``K`` alerts that overlap an abnormal part as normal
(and with them every action they overlap); their stored windows are added exactly as the review page
does (:func:`edge.feedback.action_windows` and :func:`edge.feedback.add_windows`: the episode's kept
windows re-cut at the live stride along the stretches they cover, normalised, embedded, one feedback
behaviour per alert), and the stream's profile is replayed again (after). Each stream gets its own
updated profile, as each camera would.

The probes: the marked stream again (its marked parts are repeats by the same person), and the
marked stream with its first marked part replaced by every other abnormal part of the set (another
person's action, stitched in with the set's blends): those of a label the marked alerts held are
*repeats*, the others *unmarked* actions. Reported: the share of repeats that still alert after
feedback (and before, for reference), the recall of unmarked actions before and after, and false
alerts (alerts on no abnormal part) on the marked streams before and after.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bus.messages import SkeletonFrame
from clips import Clip
from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.enroll import build_profile
from edge.episodes import Episode
from edge.feedback import action_windows, add_windows, still_abnormal
from edge.pipeline import Pipeline
from edge.profiles import Profile
from evaluation.recordings import RecordingSet
from evaluation.stream import RECORDINGS, StreamRun, claim_report, replay
from evaluation.stream_sets import STREAM_SETS, Interval, LabelledStream, stitch

Part = tuple[LabelledStream, int]  # a stream and the index of one of its abnormal parts


def performance_alerts(
    pipeline: Pipeline, stream: str, script: list[tuple[str, float]], seed: int
) -> list[Episode]:
    """Closed alert episodes of one synthetic performance (:class:`SyntheticPerformer` ``script``) on
    ``stream``, through the worker's path: a camera replaying an action after it was marked."""
    from pose_frontend.synthetic import SyntheticPerformer

    times, joints = SyntheticPerformer(script, seed=seed).render()
    visible = np.ones(joints.shape[1], np.float32)
    closed = []
    for i, (t, j) in enumerate(zip(times, joints, strict=True)):
        pipeline.push(SkeletonFrame(stream, i, float(t), j, visible, time.time()))
        if i % 32 == 31:
            closed += [
                e.episode for b in pipeline.run_due(flush=True) for e in b.events if e.kind == "closed"
            ]
    return closed + [e.episode for e in pipeline.close_all() if e.kind == "closed"]


def _hits(a: float, b: float, intervals: Sequence[Interval]) -> bool:
    return any(a <= y and b >= x for x, y in intervals)


def _covered(run: StreamRun, interval: Interval) -> bool:
    return any(_hits(e.episode.start, e.episode.end, [interval]) for e in run.closed)


def _false(run: StreamRun, stream: LabelledStream) -> int:
    return sum(not _hits(e.episode.start, e.episode.end, stream.abnormal) for e in run.closed)


def _segment(clip: Clip, interval: Interval) -> Clip:
    inside = (clip.times >= interval[0]) & (clip.times <= interval[1])
    return Clip(clip.joints[inside], clip.times[inside])


def spliced(stream: LabelledStream, part: int, donor: Part) -> LabelledStream:
    """``stream`` with its abnormal part ``part`` replaced by the donor's abnormal part (stitched in
    with the stream sets' blends); the probe's only abnormal part is the donor's, its normal parts
    the stream's before and after."""
    x, y = stream.abnormal[part]
    rec = stream.recording
    before, after = (
        Clip(rec.joints[rec.times < x], rec.times[rec.times < x]),
        Clip(rec.joints[rec.times > y], rec.times[rec.times > y]),
    )
    other, j = donor
    pieces = [p for p in (before, _segment(other.recording, other.abnormal[j]), after) if len(p.times)]
    joints, times, spans = stitch(pieces)
    middle = 1 if len(before.times) else 0
    normal = tuple(s for i, s in enumerate(spans) if i != middle)
    return replace(
        stream,
        name=f"{stream.name} with {other.label_of(j) or other.name}",
        recording=Clip(joints, times),
        abnormal=(spans[middle],),
        normal=normal,
        abnormal_labels=(other.label_of(j),),
    )


def _marked_events(run: StreamRun, stream: LabelledStream, k: int) -> list[tuple[Any, int]]:
    """The first ``k`` closed alerts overlapping an abnormal part, with the index of the first part
    each overlaps."""
    out = []
    for e in sorted(run.closed, key=lambda e: e.episode.start):
        hit = [i for i, iv in enumerate(stream.abnormal) if _hits(e.episode.start, e.episode.end, [iv])]
        if hit:
            out.append((e, hit[0]))
    return out[:k]


def _held_labels(stream: LabelledStream, events: Sequence[Any]) -> set[str]:
    """The labels of every abnormal part the marked alerts overlap: an alert over several actions
    (actions close together, as in the dense sets) makes all of them normal."""
    return {
        stream.label_of(i)
        for e in events
        for i, iv in enumerate(stream.abnormal)
        if _hits(e.episode.start, e.episode.end, [iv])
    } - {""}


def evaluate_feedback(
    streams: Sequence[LabelledStream],
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    k: int = 1,
    probes: int | None = None,
    on_stream: Callable[[LabelledStream, StreamRun, StreamRun | None], None] | None = None,
) -> dict[str, Any]:
    """The module's measurement; ``probes``: at most this many spliced probes per marked stream,
    spread evenly over the set's other abnormal parts (default: all of them). ``on_stream`` gets each
    stream's replays before and after feedback (None: nothing in it to mark)."""
    profiles: dict[tuple[str, ...], Profile] = {}
    donors: list[Part] = [(s, i) for s in streams for i in range(len(s.abnormal)) if s.label_of(i)]
    tally = {key: 0 for key in ("marked_streams", "marked_alerts", "marked_parts", "marked_parts_alerting_after",
                                "repeats", "repeats_alerting_before", "repeats_alerting_after", "unmarked",
                                "unmarked_alerting_before", "unmarked_alerting_after", "false_before",
                                "false_after")}  # fmt: skip
    by_label: dict[
        str, dict[str, list[int]]
    ] = {}  # marked action -> probe action -> [probes, alerting before, after]
    alerts = short_of_k = 0  # alerts before feedback on every stream; marked streams with under k to mark
    for stream in streams:
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            profiles[key] = build_profile(
                "eval", stream.support, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
            )
        profile = profiles[key]
        before = replay(stream, profile, backend, cfg)
        alerts += len(before.closed)
        marked = _marked_events(before, stream, k)
        if not marked:
            if on_stream is not None:
                on_stream(stream, before, None)
            continue
        short_of_k += len(marked) < k
        additions = [
            (i, still_abnormal(action_windows(np.stack([w.frames for w in e.episode.windows]),
                                              np.array([(w.t_start, w.t_end) for w in e.episode.windows]),
                                              backend.spec, cfg.stride), profile, backend, spec=backend.spec,
                                reach=cfg.feedback_reach))
            for i, (e, _) in enumerate(marked)
        ]  # fmt: skip
        updated = add_windows(profile, additions, backend, spec=backend.spec, reviewer="simulated")
        after = replay(stream, updated, backend, cfg)
        if on_stream is not None:
            on_stream(stream, before, after)
        labels = _held_labels(stream, [e for e, _ in marked])
        parts = sorted({p for _, p in marked})
        tally["marked_streams"] += 1
        tally["marked_alerts"] += len(marked)
        tally["marked_parts"] += len(parts)
        tally["marked_parts_alerting_after"] += sum(_covered(after, stream.abnormal[p]) for p in parts)
        tally["false_before"] += _false(before, stream)
        tally["false_after"] += _false(after, stream)
        marked_label = stream.label_of(parts[0])
        others = [d for d in donors if d[0] is not stream and d[0].recording is not stream.recording]
        if probes is not None and len(others) > probes:
            others = [others[i] for i in np.linspace(0, len(others) - 1, probes).round().astype(int)]
        for donor in others:
            probe = spliced(stream, parts[0], donor)
            kind = "repeats" if probe.label_of(0) in labels else "unmarked"
            tally[kind] += 1
            cell = by_label.setdefault(marked_label, {}).setdefault(probe.label_of(0), [0, 0, 0])
            cell[0] += 1
            for j, (tag, p) in enumerate((("before", profile), ("after", updated)), start=1):
                alerted = _covered(replay(probe, p, backend, cfg), probe.abnormal[0])
                tally[f"{kind}_alerting_{tag}"] += alerted
                cell[j] += alerted

    def share(n: str, d: str) -> float | None:
        return tally[n] / tally[d] if tally[d] else None

    return {
        "k": k,
        "streams": len(streams),
        **tally,
        "marked_parts_alerting_after_share": share("marked_parts_alerting_after", "marked_parts"),
        "repeats_alerting_before_share": share("repeats_alerting_before", "repeats"),
        "repeats_alerting_after_share": share("repeats_alerting_after", "repeats"),
        "unmarked_recall_before": share("unmarked_alerting_before", "unmarked"),
        "unmarked_recall_after": share("unmarked_alerting_after", "unmarked"),
        "probes_by_action": {
            m: {
                a: {"probes": n, "alerting_before": b, "alerting_after": c}
                for a, (n, b, c) in sorted(row.items())
            }
            for m, row in sorted(by_label.items())
        },
        "notes": _notes(tally, k=k, streams=len(streams), alerts=alerts, short_of_k=short_of_k),
    }


def _notes(tally: dict[str, int], *, k: int, streams: int, alerts: int, short_of_k: int) -> list[str]:
    """Plain sentences on what the figures cannot say: why a share is null (no figure, not 0), and
    where fewer than ``k`` alerts were there to mark."""
    if not tally["marked_streams"]:
        raised = (
            f"their {alerts} alert{'s' * (alerts != 1)} all on normal parts" if alerts else "no alert at all"
        )
        return [
            f"no alert caught an abnormal action in any of the {streams} streams ({raised}): nothing to "
            "mark, so nothing was replayed after feedback: the counts (of marked streams and their probes) "
            "are 0 and every share is null"
        ]
    notes = []
    if short_of_k:
        notes.append(
            f"{short_of_k} of the {tally['marked_streams']} marked streams had fewer than {k} alerts on an "
            f"abnormal action to mark ({tally['marked_alerts']} marked in all)"
        )
    if not tally["repeats"] and not tally["unmarked"]:
        notes.append(
            "no other recording holds a labelled abnormal part to probe with: the repeat shares and "
            "unmarked recall are null"
        )
    elif not tally["repeats"]:
        notes.append(
            "no other recording's abnormal part is of an action the marked alerts held: no repeat to "
            "probe, so the repeat shares are null"
        )
    elif not tally["unmarked"]:
        notes.append(
            "every other recording's abnormal part is of an action the marked alerts held: no unmarked "
            "action to probe, so unmarked recall is null"
        )
    return notes


def _report_path(out: Path, name: str) -> Path:
    return out / f"feedback_{name}.json"


def write_feedback_report(summary: dict[str, Any], out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = _report_path(out, name)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path


def plot_name(stream: LabelledStream) -> str:
    """The stream's name as a file name. Made safe, names may meet ('rec:a/b' and 'rec:a_b' both read
    rec_a_b): a name changed so keeps a digest of itself (rec_a_b-1f2e3d4c), each its own file."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stream.name)
    return safe if safe == stream.name else f"{safe}-{hashlib.sha256(stream.name.encode()).hexdigest()[:8]}"


def plot_run(folder: Path, stream: LabelledStream, run: StreamRun, after: StreamRun | None = None) -> None:
    """One PNG per recording: window scores / threshold over time, abnormal parts shaded."""
    from edge.plots import stream_timeline

    alerts = [(e.episode.start, e.episode.end) for e in run.closed]
    stream_timeline(
        run.windows, stream.abnormal, folder / f"{plot_name(stream)}.png", title=stream.name, alerts=alerts,
        after=None if after is None else after.windows,
    )  # fmt: skip


def run_feedback_eval(
    dataset: str,
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    k: int,
    data_root: str | None = None,
    recordings: RecordingSet | None = None,
    recordings_file: Path | None = None,
    out: Path | None = None,
    plots: Path | None = None,
) -> dict[str, Any]:
    """The feedback evaluation on a built-in stream set ``dataset``, or on ``recordings`` read from
    ``recordings_file``; writes ``feedback_<dataset or file stem>.json``, refusing before any replay
    where that holds another set's figures."""
    if recordings is None and dataset not in STREAM_SETS:
        raise ValueError(f"unknown stream dataset {dataset!r}: use {' or '.join(STREAM_SETS)}")
    name, source = dataset, dataset
    if recordings_file is not None:
        name, source = recordings_file.stem, str(recordings_file.resolve())
    if out is not None:
        claim_report(_report_path(out, name), source)

    def on_stream(stream: LabelledStream, before: StreamRun, after: StreamRun | None) -> None:
        if plots is not None:
            plot_run(plots, stream, before, after)

    chosen = recordings.streams if recordings is not None else STREAM_SETS[dataset](data_root)
    # a file's summary names it as stream_<stem>.json's does: which file, wherever the run was made
    # from, and its recordings never scored (their actions in no figure, not counted as missed)
    where = {"dataset": dataset} if recordings is None else {
        "dataset": f"{RECORDINGS}{recordings_file}", "recordings_file": source,
        "left_out_recordings": recordings.left_out,
    }  # fmt: skip
    summary = {
        **where,
        "model_version": backend.model_version,
        **evaluate_feedback(chosen, backend, cfg, k=k, on_stream=on_stream),
    }
    if out is not None:
        write_feedback_report(summary, out, name)
    return summary
