"""Score timelines as pictures (matplotlib, Agg): an alert's kept windows against its threshold
(``haad alerts show --plot``, ``/api/v1/alerts/{id}/timeline.png``), and a labelled recording's
window scores with its abnormal parts shaded (``haad eval stream --plots``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

import numpy as np

from edge.store import AlertRecord
from edge.timeline_holes import timeline_holes

Interval = tuple[float, float]
HOT, COLD, THRESHOLD = "#d62728", "#1f77b4", "#555555"


def _figure(width: float = 7.0, height: float = 2.6):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.add_subplot()


def alert_timeline(
    alert: AlertRecord, out: str | Path | IO[bytes], kind: Literal["png", "svg"] = "png"
) -> None:
    """The alert's score moment by moment (its timeline: each window's score at the moment it is about,
    edge/episodes.py; seconds from the alert's start) vs the threshold, hot moments red; without a timeline, each kept
    window's score at the window's end, seconds from the first window's start."""
    fig, ax = _figure()
    if alert.timeline is not None and len(alert.timeline):
        t0 = alert.timeline[0, 0]
        t, s = alert.timeline[:, 0] - t0, alert.timeline[:, 1]
        holes = timeline_holes(alert.timeline)
        # the line broken at each hole in the stream (no frames, no score known), the hole shaded
        breaks = np.searchsorted(t, [b - t0 for _, b in holes])
        ax.plot(np.insert(t, breaks, np.nan), np.insert(s, breaks, np.nan), color=COLD, lw=1, zorder=1)
        for i, (a, b) in enumerate(holes):
            ax.axvspan(a - t0, b - t0, color="#e4e4e4", zorder=0, label="no frames" if i == 0 else None)
        ax.scatter(t, s, c=[HOT if v > alert.threshold else COLD for v in s], s=8, zorder=2)
        ax.set_xlabel("seconds since the alert started")
    elif alert.window_times is not None and alert.window_scores is not None and len(alert.window_times):
        t0 = float(alert.window_times[0, 0])
        t = alert.window_times[:, 1] - t0
        s = alert.window_scores
        ax.plot(t, s, color=COLD, lw=1, zorder=1)
        ax.scatter(t, s, c=[HOT if v > alert.threshold else COLD for v in s], s=22, zorder=2)
        ax.set_xlabel("seconds since the first stored window started")
    else:
        ax.text(0.5, 0.5, "no window scores stored", ha="center", va="center", transform=ax.transAxes)
    ax.axhline(alert.threshold, color=THRESHOLD, ls="--", lw=1, label=f"threshold {alert.threshold:.3f}")
    ax.set_ylabel("score")
    ax.set_title(
        f"alert {alert.id}: {alert.stream_id} / {alert.profile} v{alert.profile_version}", fontsize=10
    )
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out, format=kind)


def stream_timeline(
    windows: Sequence[tuple[float, float, float]],
    abnormal: Sequence[Interval],
    out: Path,
    *,
    title: str,
    alerts: Sequence[Interval] = (),
    after: Sequence[tuple[float, float, float]] | None = None,
) -> None:
    """Normalised window scores (score / threshold, at each window's end) of a labelled recording,
    abnormal parts shaded, alerts as bars under the curve; ``after``: a second run (feedback) dashed."""
    fig, ax = _figure(9.0, 2.6)
    for a, b in abnormal:
        ax.axvspan(a, b, color="#ffbb78", alpha=0.5, lw=0)
    w = np.array(windows).reshape(-1, 3)
    ax.plot(w[:, 1], w[:, 2], color=COLD, lw=1, label="score / threshold")
    if after is not None:
        w2 = np.array(after).reshape(-1, 3)
        ax.plot(w2[:, 1], w2[:, 2], color="#2ca02c", lw=1, ls="--", label="after feedback")
    for a, b in alerts:
        ax.plot(
            [a, b], [0.05, 0.05], color=HOT, lw=4, solid_capstyle="butt", transform=ax.get_xaxis_transform()
        )
    ax.axhline(1.0, color=THRESHOLD, ls="--", lw=1)
    ax.set_xlabel("seconds (orange: labelled abnormal; red bars: alerts)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=out.suffix.lstrip(".") or "png")
