"""What goes into the alert log and what comes out: validated records and the window blob codec."""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np

from bus.messages import Box, Watched, check_box
from edge.store.models import STATUSES, ReviewStatus

MAX_NAME = 128  # String(128) columns: stream_id, profile, model_version
MAX_KEY = 64  # String(64): episode_key


@dataclass(frozen=True, eq=False)  # eq=False: array fields
class NewAlert:
    """An episode's row as it stands. ``ended_at`` is None while it is still open; writing the same
    ``episode_key`` again replaces the row (:meth:`AlertStore.write_alerts`).

    windows: ``(K, F, J, 3)`` raw canonical windows of the episode, K >= 1 (stored as float32);
    window_times: ``(K, 2)`` start/end of each window in source seconds;
    window_scores: ``(K,)`` their anomaly scores, when known;
    person: the person track within the stream (0: a single-person frontend's one person);
    box: the person's image-space box over the episode (``bus.messages.Box``), when known;
    others: the other people in view at its peak, ``(person, box)``.
    timeline: ``(N, 2)`` (source seconds, score): the score moment by moment over the episode
    (edge/episodes.py), when known; kept in its own column (outlives the windows).
    nearest: the normal behaviour its peak window was nearest, when known.
    """

    episode_key: str
    stream_id: str
    profile: str
    profile_version: int
    started_at: datetime
    ended_at: datetime | None
    peak_score: float
    mean_score: float
    threshold: float
    n_windows: int
    model_version: str
    windows: np.ndarray
    window_times: np.ndarray
    window_scores: np.ndarray | None = None
    person: int = 0
    box: Box | None = None
    host: str = ""  # the daemon's config host; "" where none is known
    timeline: np.ndarray | None = None
    others: tuple[tuple[int, Box], ...] = ()
    nearest: str | None = None  # an outbox state of an older haad has none

    def __post_init__(self) -> None:
        where = f"alert {self.stream_id!r}/{self.profile!r}"
        _check_person(self, where)
        if not isinstance(self.episode_key, str) or not 0 < len(self.episode_key) <= MAX_KEY:
            raise ValueError(f"{where}: episode_key must be a string of 1..{MAX_KEY} characters")
        for name in ("stream_id", "profile", "model_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
                raise ValueError(
                    f"{where}: {name} must be a string of 1..{MAX_NAME} characters; got {value!r}"
                )
        if not isinstance(self.host, str) or len(self.host) > MAX_NAME:
            raise ValueError(f"{where}: host must be a string of at most {MAX_NAME} characters")
        if self.nearest is not None and (not isinstance(self.nearest, str) or len(self.nearest) > MAX_NAME):
            raise ValueError(f"{where}: nearest must be a behaviour name of at most {MAX_NAME} characters")
        for name in ("peak_score", "mean_score", "threshold"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{where}: {name} is {getattr(self, name)}; NaN/Inf scores are never stored")
        for name in ("started_at", "ended_at"):
            t = getattr(self, name)
            if t is not None and (t.tzinfo is None or t.utcoffset() is None):
                raise ValueError(f"{where}: {name} must be timezone-aware (UTC); got naive {t.isoformat()}")
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError(f"{where}: ended_at {self.ended_at} is before started_at {self.started_at}")
        if self.n_windows < 1 or self.profile_version < 0:
            raise ValueError(f"{where}: n_windows must be >= 1 and profile_version >= 0")
        w, t, s = self.windows, self.window_times, self.window_scores
        if w.ndim != 4 or w.shape[0] < 1 or w.shape[-1] != 3 or not np.issubdtype(w.dtype, np.floating):
            raise ValueError(
                f"{where}: windows must be a float array (K>=1, F, J, 3); got {w.dtype} {w.shape}"
            )
        if t.shape != (len(w), 2) or not np.isfinite(t).all():
            raise ValueError(f"{where}: window_times must be finite ({len(w)}, 2); got {t.shape}")
        if s is not None and (s.shape != (len(w),) or not np.isfinite(s).all()):
            raise ValueError(f"{where}: window_scores must be finite ({len(w)},); got {s.shape}")
        line = self.timeline
        if line is not None and (line.ndim != 2 or line.shape[1] != 2 or not np.isfinite(line).all()):
            raise ValueError(f"{where}: timeline must be finite (N, 2); got {line.shape}")


@dataclass(frozen=True, eq=False)
class AlertRecord:
    """A logged alert. The window arrays are None in lists and filled by :meth:`AlertStore.get_alert`
    (still None when retention dropped them)."""

    id: int
    episode_key: str
    stream_id: str
    profile: str
    profile_version: int
    started_at: datetime
    ended_at: datetime | None
    peak_score: float
    mean_score: float
    threshold: float
    n_windows: int
    model_version: str
    n_kept: int
    created_at: datetime
    status: ReviewStatus
    note: str
    reviewed_at: datetime | None
    reviewed_by: str = ""
    person: int = 0
    box: Box | None = None
    host: str = ""
    others: tuple[tuple[int, Box], ...] = ()
    nearest: str | None = None  # the normal behaviour its peak window was nearest (None: not known)
    windows: np.ndarray | None = None
    window_times: np.ndarray | None = None
    window_scores: np.ndarray | None = None
    timeline: np.ndarray | None = None  # filled by get_alert and the timeline query

    def __post_init__(self) -> None:
        _check_person(self, f"alert {self.id}")

    @property
    def who(self) -> Watched:
        return Watched(self.stream_id, self.person)

    def to_dict(self) -> dict[str, Any]:
        """The scalar fields, datetimes as ISO-8601 strings (for JSON/CSV)."""
        d = asdict(self)
        for k in ARRAY_FIELDS:
            d.pop(k)
        d["others"] = others_rows(self.others)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in d.items()}


def _check_person(alert: NewAlert | AlertRecord, where: str) -> None:
    """``person`` an int >= 0, ``box`` a valid box and ``others`` (person, box) pairs; what comes
    back from JSON (lists; ``others`` as :func:`others_rows`) becomes tuples."""
    if isinstance(alert.person, bool) or not isinstance(alert.person, int) or alert.person < 0:
        raise ValueError(f"{where}: person must be an integer >= 0; got {alert.person!r}")
    object.__setattr__(alert, "box", check_box(alert.box, f"{where}: box"))
    others = []
    for entry in alert.others or ():
        pid, box = (entry[0], entry[1:]) if len(entry) == 5 else entry
        checked = check_box(box, f"{where}: others")
        if isinstance(pid, bool) or not isinstance(pid, int | float) or pid != int(pid) or checked is None:
            raise ValueError(f"{where}: others must be (person, box) pairs; got {entry!r}")
        others.append((int(pid), checked))
    object.__setattr__(alert, "others", tuple(others))


def others_rows(others: tuple[tuple[int, Box], ...]) -> list[list[float]]:
    """``others`` as JSON keeps them: ``[[person, x0, y0, x1, y1], ...]``."""
    return [[pid, *box] for pid, box in others]


ARRAY_FIELDS = ("windows", "window_times", "window_scores", "timeline")  # what encode_windows holds
RECORD_FIELDS = tuple(f.name for f in fields(AlertRecord) if f.name not in ARRAY_FIELDS)


def check_status(status: str) -> ReviewStatus:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    return status


def kept_indices(alert: NewAlert, keep: int) -> np.ndarray:
    """Which of the alert's K windows to store when K > ``keep``: the first, the peak (when scores are
    known), the last and others spread evenly between, in time order (marking the alert normal
    learns the stretches they cover, edge/feedback.py)."""
    k = len(alert.windows)
    if k <= keep:
        return np.arange(k)
    peak = [int(np.argmax(alert.window_scores))] if alert.window_scores is not None else []
    chosen: list[int] = []
    for i in [0, *peak, k - 1, *np.linspace(0, k - 1, keep).round().astype(int).tolist(), *range(k)]:
        if len(chosen) == keep:
            break
        if i not in chosen:
            chosen.append(i)
    return np.array(sorted(chosen))


def encode_windows(
    windows: np.ndarray,
    times: np.ndarray,
    scores: np.ndarray | None,
    timeline: np.ndarray | None = None,
    *,
    compress: bool = True,
) -> bytes:
    """An npz of ``windows`` float32, ``window_times`` float64 and, when given, ``window_scores``
    and ``timeline`` float64: the one codec of an alert's arrays (the store, downloads and exports
    compress; the outbox does not, since it writes every state of an open episode and drops it once
    delivered); :func:`decode_windows` and ``np.load`` read it back."""
    arrays = {"windows": windows.astype("<f4"), "window_times": times.astype("<f8")}
    if scores is not None:
        arrays["window_scores"] = scores.astype("<f8")
    if timeline is not None:
        arrays["timeline"] = timeline.astype("<f8")
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def decode_windows(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays :func:`encode_windows` stored, by name (``window_scores``, ``timeline`` when given)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in ARRAY_FIELDS if k in z.files}


def encode_timeline(timeline: np.ndarray | None) -> bytes | None:
    """An alert's timeline ``(N, 2)`` as little-endian float64 bytes (None stays None)."""
    return None if timeline is None else np.ascontiguousarray(timeline, dtype="<f8").tobytes()


def decode_timeline(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<f8").reshape(-1, 2)
