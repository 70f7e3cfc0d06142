"""``haad eval stream --feedback K``: what "mark as normal" buys, measured with a simulated reviewer.

For every labelled stream of ``haad eval stream`` (evaluation/stream_sets.py): replay it against its
enrolled profile (before), let a reviewer mark the first ``K`` false alerts of the stream as normal
(an alert overlapping no abnormal part), add their stored windows to the profile exactly as the
review page does (:func:`edge.feedback.add_windows`: the episode's kept windows, normalised,
embedded, one new support clip per alert, threshold recalibrated), and replay the stream again
(after). Each stream gets its own updated profile, as each site would.

Reported before and after: false alerts and false alerts per hour of stream, alert recall (share of
abnormal parts with an alert), precision; and the same false-alert counts on the held-out part of
each stream only, i.e. alerts that start after the last marked alert ended, which the reviewer has
not seen (the replay is otherwise the same recording the marked windows came from).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from edge.enroll import build_profile
from edge.feedback import CalibrateOn, add_windows
from edge.profiles import Profile
from evaluation.stream import StreamRun, replay
from evaluation.stream_sets import STREAM_SETS, LabelledStream

Interval = tuple[float, float]


def _hits(a: float, b: float, intervals: Sequence[Interval]) -> bool:
    return any(a <= y and b >= x for x, y in intervals)


def alert_outcomes(run: StreamRun, stream: LabelledStream) -> dict[str, Any]:
    episodes = sorted((e.episode.start, e.episode.end) for e in run.closed)
    false = [(a, b) for a, b in episodes if not _hits(a, b, stream.abnormal)]
    covered = sum(any(a <= y and b >= x for a, b in episodes) for x, y in stream.abnormal)
    return {"alerts": len(episodes), "false": false, "covered": covered}


def evaluate_feedback(
    streams: Sequence[LabelledStream],
    backend: EncoderBackend,
    cfg: WorkerConfig,
    *,
    k: int = 1,
    calibrate_on: CalibrateOn = "enrolled",
    per_alert: int | None = None,
    on_stream: Callable[[LabelledStream, StreamRun, StreamRun, Profile, Profile], None] | None = None,
) -> dict[str, Any]:
    profiles: dict[tuple[str, ...], Profile] = {}
    totals = {k_: 0 for k_ in ("alerts_before", "alerts_after", "false_before", "false_after", "covered_before",
                               "covered_after", "heldout_false_before", "heldout_false_after", "marked")}  # fmt: skip
    hours = heldout_hours = 0.0
    n_abnormal = 0
    changed_streams = 0
    for stream in streams:
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            profiles[key] = build_profile(
                "eval", stream.support, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
            )
        profile = profiles[key]
        before = replay(stream, profile, backend, cfg)
        out_before = alert_outcomes(before, stream)
        false_events = sorted(
            (e for e in before.closed if not _hits(e.episode.start, e.episode.end, stream.abnormal)),
            key=lambda e: e.episode.start,
        )[:k]
        duration = float(stream.recording.times[-1] - stream.recording.times[0])
        hours += duration / 3600
        n_abnormal += len(stream.abnormal)
        if false_events:
            additions = [
                (
                    i,
                    np.stack([w.frames for w in e.episode.windows]),
                    np.array([w.score for w in e.episode.windows]),
                )
                for i, e in enumerate(false_events)
            ]
            updated = add_windows(profile, additions, backend, cfg.calibration, reviewer="simulated",
                                  calibrate_on=calibrate_on, per_alert=per_alert)  # fmt: skip
            after = replay(stream, updated, backend, cfg)
            changed_streams += 1
            seen_until = max(e.episode.end for e in false_events)
        else:
            updated, after, seen_until = profile, before, float(stream.recording.times[0])
        out_after = alert_outcomes(after, stream)
        heldout_hours += max(0.0, float(stream.recording.times[-1]) - seen_until) / 3600
        totals["marked"] += len(false_events)
        for tag, out in (("before", out_before), ("after", out_after)):
            totals[f"alerts_{tag}"] += out["alerts"]
            totals[f"false_{tag}"] += len(out["false"])
            totals[f"covered_{tag}"] += out["covered"]
            totals[f"heldout_false_{tag}"] += sum(a > seen_until for a, _ in out["false"])
        if on_stream is not None:
            on_stream(stream, before, after, profile, updated)

    def side(tag: str) -> dict[str, Any]:
        alerts, false = totals[f"alerts_{tag}"], totals[f"false_{tag}"]
        return {
            "alerts": alerts,
            "false_alerts": false,
            "false_alerts_per_hour": false / hours if hours else None,
            "alert_precision": (alerts - false) / alerts if alerts else None,
            "alert_recall": totals[f"covered_{tag}"] / n_abnormal if n_abnormal else None,
            "heldout_false_alerts": totals[f"heldout_false_{tag}"],
            "heldout_false_alerts_per_hour": totals[f"heldout_false_{tag}"] / heldout_hours
            if heldout_hours
            else None,
        }

    return {
        "k": k,
        "calibrate_on": calibrate_on,
        "per_alert": per_alert,
        "streams": len(streams),
        "streams_with_feedback": changed_streams,
        "alerts_marked_normal": totals["marked"],
        "hours": hours,
        "heldout_hours": heldout_hours,
        "before": side("before"),
        "after": side("after"),
    }


def write_feedback_report(summary: dict[str, Any], out: Path, dataset: str) -> Path:
    import json

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"feedback_{dataset}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path


def plot_name(stream: LabelledStream) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stream.name)


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
    per_alert: int | None = None,
    data_root: str | None = None,
    out: Path | None = None,
    plots: Path | None = None,
) -> dict[str, Any]:
    if dataset not in STREAM_SETS:
        raise ValueError(f"unknown stream dataset {dataset!r}: use {' or '.join(STREAM_SETS)}")

    def on_stream(stream: LabelledStream, before: StreamRun, after: StreamRun, *_: Profile) -> None:
        if plots is not None:
            plot_run(plots, stream, before, after if after is not before else None)

    summary = {
        "dataset": dataset,
        "model_version": backend.model_version,
        **evaluate_feedback(
            STREAM_SETS[dataset](data_root), backend, cfg, k=k, per_alert=per_alert, on_stream=on_stream
        ),  # fmt: skip
    }
    if out is not None:
        write_feedback_report(summary, out, dataset)
    return summary
