"""Reads for the review server that the store's own API does not offer (paging, counts, live status)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, func, select

from edge.store import AlertRecord, AlertStore
from edge.store.models import Alert, StreamStatus
from edge.store.records import RECORD_FIELDS, decode_timeline
from edge.timeline_holes import timeline_holes


def hosts(store: AlertStore) -> list[str]:
    """Every host named on an alert or a live status row (a fleet sharing this alert log)."""
    with store.reading() as s:
        names = {*s.scalars(select(Alert.host).distinct()), *s.scalars(select(StreamStatus.host).distinct())}
    return sorted(n for n in names if n)


def timeline_alerts(store: AlertStore, since: datetime, until: datetime, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` alerts that overlap [since, until) (open ones reach now), oldest first,
    each with its timeline as [seconds after its first moment (started_at), score]. The newest: a
    busy period's oldest left its last hours empty, as if nothing had happened since."""
    from sqlalchemy.orm import undefer

    with store.reading() as s:
        rows = s.scalars(
            select(Alert)
            .options(undefer(Alert.timeline))
            .where(Alert.started_at < until, (Alert.ended_at >= since) | Alert.ended_at.is_(None))
            .order_by(Alert.started_at.desc(), Alert.id.desc())
            .limit(limit)
        ).all()[::-1]
        out = []
        for r in rows:
            line = decode_timeline(r.timeline)
            t0 = 0.0 if line is None else float(line[0, 0])
            points = [] if line is None else [[float(t) - t0, float(sc)] for t, sc in line]
            out.append({
                "id": r.id, "stream_id": r.stream_id, "profile": r.profile, "started_at": r.started_at,
                "ended_at": r.ended_at, "host": r.host, "person": r.person, "status": r.status, "peak_score": r.peak_score, "threshold": r.threshold,
                "trace": points, "holes": [(a - t0, b - t0) for a, b in timeline_holes(line)],
            })  # fmt: skip
        return out


def page_alerts(
    store: AlertStore, conditions: Sequence[ColumnElement[bool]], *, offset: int, limit: int
) -> tuple[list[AlertRecord], int, int, dict[int, bool]]:
    """(alerts newest first, total matching, unreviewed matching, id -> windows still stored)."""
    with store.reading() as s:
        query = (
            select(Alert, Alert.windows_npz.is_not(None))
            .where(*conditions)
            .order_by(Alert.started_at.desc(), Alert.id.desc())
            .offset(offset)
            .limit(limit)
        )
        rows = s.execute(query).all()
        total = s.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
        unreviewed = (
            s.scalar(select(func.count()).select_from(Alert).where(*conditions, Alert.status == "new")) or 0
        )
        records = [AlertRecord(**{n: getattr(r, n) for n in RECORD_FIELDS}) for r, _ in rows]
        return records, int(total), int(unreviewed), {r.id: bool(has) for r, has in rows}


def alert_out(a: AlertRecord, windows_available: bool | None = None) -> dict[str, Any]:
    d = a.to_dict()
    d["started_at"], d["ended_at"], d["reviewed_at"] = a.started_at, a.ended_at, a.reviewed_at
    d["duration_s"] = (a.ended_at - a.started_at).total_seconds() if a.ended_at else None
    d["windows_available"] = windows_available
    return d


def window_summaries(a: AlertRecord) -> list[dict[str, Any]]:
    if a.windows is None or a.window_times is None:
        return []
    return [
        {
            "t_start": float(t[0]),
            "t_end": float(t[1]),
            "frames": int(w.shape[0]),
            "score": None if a.window_scores is None else float(a.window_scores[i]),
        }
        for i, (w, t) in enumerate(zip(a.windows, a.window_times, strict=True))
    ]


def windows_json(a: AlertRecord) -> dict[str, Any]:
    """The windows as nested lists (mm precision, NaN -> null) for the playback page."""
    assert a.windows is not None and a.window_times is not None
    w = np.round(a.windows.astype(np.float64), 4)
    frames = np.where(np.isfinite(w), w, np.nan).tolist()
    frames = [[[[None if v != v else v for v in j] for j in f] for f in k] for k in frames]
    durations = a.window_times[:, 1] - a.window_times[:, 0]
    frame_counts = np.array([len(x) for x in a.windows])
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(durations > 0, (frame_counts - 1) / durations, 20.0)
    return {
        "fps": float(np.median(rates)) if len(rates) else 20.0,
        "frames": frames,
        "window_times": a.window_times.astype(float).tolist(),
        "window_scores": None if a.window_scores is None else a.window_scores.astype(float).tolist(),
        "timeline": None if a.timeline is None else a.timeline.astype(float).tolist(),
        "threshold": a.threshold,
    }


def stream_statuses(store: AlertStore) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    with store.reading() as s:
        rows = s.scalars(select(StreamStatus).order_by(StreamStatus.stream_id, StreamStatus.profile)).all()
        return [
            {
                "stream_id": r.stream_id, "profile": r.profile, "profile_version": r.profile_version,
                "score": r.score, "threshold": r.threshold, "fps": r.fps, "host": r.host,
                "updated_at": r.updated_at, "age_s": (now - r.updated_at).total_seconds(),
                "recent": json.loads(r.recent), "windows_scored": r.windows_scored,
            }
            for r in rows
        ]  # fmt: skip


def known_streams(store: AlertStore) -> dict[str, list[str]]:
    """Stream -> the profiles the alert log shows it scored against: its workers' live status rows
    and its alerts (``a+b``: both)."""
    out: dict[str, set[str]] = {}
    for r in stream_statuses(store):
        out.setdefault(r["stream_id"], set()).add(r["profile"])
    with store.reading() as s:
        for stream, profile in s.execute(select(Alert.stream_id, Alert.profile).distinct()):
            out.setdefault(stream, set()).update(profile.split("+"))
    return {stream: sorted(names) for stream, names in sorted(out.items())}


def open_alert_counts(store: AlertStore) -> dict[str, int]:
    with store.reading() as s:
        rows = s.execute(
            select(Alert.stream_id, func.count()).where(Alert.ended_at.is_(None)).group_by(Alert.stream_id)
        )
        return {sid: int(n) for sid, n in rows}


def stream_ids(store: AlertStore) -> list[str]:
    with store.reading() as s:
        return sorted(s.scalars(select(Alert.stream_id).distinct()))


def profile_names_in_alerts(store: AlertStore) -> list[str]:
    with store.reading() as s:
        return sorted(s.scalars(select(Alert.profile).distinct()))
