""" "Mark as normal": a reviewed alert's action becomes a behaviour of its profile, so it stops alerting.

An alert stores a few raw windows ``(K, F, J, 3)`` of its episode (the first hot one, the peak, the
latest ones) with their times. Where stored windows overlap or touch, they are one stretch of the
stream's skeleton: :func:`action_windows` re-cuts every such stretch at the live stride, so that the
action is seen at every moment the stored windows cover, not at six. Those windows, normalised with
the profile's window spec and embedded with the running encoder, join the support set as a
*feedback behaviour*: a behaviour of its own (named ``alert-<id>`` unless the reviewer names it), or
more windows of a feedback behaviour the reviewer names. Each of its windows is a prototype by itself
(models/scoring.py: a mean of an action's moments would lie between them, near other actions), so the
same action, when it comes again, is near one of them and scores low, while every other action is as
far from the profile as before. Feedback behaviours
are support only: the threshold stays the one the enrolled behaviours calibrated
(edge/scoring.py), so marking one action normal never raises the bar for the others.

Scope (edge/overlays.py): ``camera`` adds the behaviour to the overlay of the alert's camera only;
``all`` adds it to the profile itself, for every camera using it. Both write a new version (of the
overlay or of the profile) whose metadata records what was added, by whom and when
(``meta["feedback"]``, ``meta["feedback_groups"]``: alert id -> support group, and
``meta["feedback_episodes"]``: alert id -> the alert's episode key); a row per alert goes to
``profile_feedback`` in the alert log, naming the profile or ``profile@stream``. A running worker
picks the version up like any other.

Undo removes an alert's windows again (and a feedback behaviour left without windows): with nothing
else changed in between, the result equals the version before the addition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from config.worker import CalibrationConfig
from edge.backends import EncoderBackend
from edge.enroll import reembed
from edge.overlays import Scope, affected_cameras, overlay_store, parse_target, target_name
from edge.profiles import FEEDBACK, Profile, ProfileError, ProfileStore, check_name, profile_lock
from edge.scoring import Scorer
from edge.store import AlertStore
from edge.store.models import Alert, ProfileFeedback
from models.preprocess import WindowSpec, cut_windows, normalise_windows

log = logging.getLogger("haad.feedback")


class FeedbackError(ValueError):
    """The alert cannot be added to (or removed from) a profile; the message says why."""


class AlreadyNormal(FeedbackError):
    """The alert is normal already (in ``where``); the way to undo it is the caller's to name."""

    def __init__(self, alert_id: int, where: str) -> None:
        super().__init__(f"alert {alert_id} is already normal in {where}: undo that first")
        self.alert_id = alert_id


class AlreadyUndone(FeedbackError):
    """The alert's windows are out of every profile, and the alert log's last word on it is an undo
    (one that finished, or one killed once its version was saved, recorded since): undoing it is done."""

    def __init__(self, alert_id: int, where: str, version: int) -> None:
        super().__init__(f"alert {alert_id} is not in any profile: its undo made {where} v{version}")
        self.alert_id, self.where, self.version = alert_id, where, version


@dataclass(frozen=True)
class FeedbackResult:
    profile: str
    scope: Scope
    stream: str | None  # the camera of an overlay (scope camera)
    cameras: tuple[str, ...]  # the cameras whose scoring changed
    behaviour: str
    base_version: int  # of what changed: the overlay (0: none yet) or the profile
    version: int
    alert_ids: tuple[int, ...]
    windows: int  # support windows added (negative: removed)
    threshold: float  # the profile's, unchanged by feedback

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cameras": list(self.cameras), "alert_ids": list(self.alert_ids)}


def _spec(profile: Profile, backend: EncoderBackend) -> WindowSpec:
    window = profile.meta.get("window")
    return WindowSpec(**window) if window else backend.spec


def _embedded(target: Profile, backend: EncoderBackend) -> np.ndarray:
    """The target's support embeddings as ``backend`` sees them."""
    if target.model_version == backend.model_version or not len(target.windows):
        return target.embeddings
    return backend.embed(target.windows.astype(np.float32))


def action_windows(raw: np.ndarray, times: np.ndarray, spec: WindowSpec, stride: int) -> np.ndarray:
    """An alert's stored raw windows ``(K, F, J, 3)`` with their ``(K, 2)`` source times -> raw windows
    ``(W, F, J, 3)``: the stored ones and, along every stretch that overlapping or touching stored
    windows cover, windows every ``stride`` frames. A window made from a segment shorter than a window
    (its span is not ``F`` frames) is kept as it is."""
    raw = np.asarray(raw, np.float32)
    times = np.asarray(times, np.float64).reshape(len(raw), 2)
    span = (spec.frames - 1) / spec.fps
    full = np.abs((times[:, 1] - times[:, 0]) - span) < 0.5 / spec.fps
    frames: dict[int, np.ndarray] = {}
    for w, t0 in zip(raw[full], times[full, 0], strict=True):
        first = round(t0 * spec.fps)
        for i, f in enumerate(w):
            frames.setdefault(first + i, f)
    out = [raw]
    dense = replace(spec, clip_stride=stride)
    run: list[np.ndarray] = []
    indices = sorted(frames)
    for i, index in enumerate(indices):
        run.append(frames[index])
        if i + 1 == len(indices) or indices[i + 1] != index + 1:
            if len(run) > spec.frames:
                out.append(cut_windows(np.stack(run), dense))
            run = []
    return np.concatenate(out)


def still_abnormal(
    windows: np.ndarray,
    profile: Profile,
    backend: EncoderBackend,
    *,
    spec: WindowSpec,
    overlay: Profile | None = None,
    reach: float = 1.0,
) -> np.ndarray:
    """Of raw windows ``(W, F, J, 3)``, those ``profile`` (with a camera's ``overlay``, marked windows
    reaching ``reach`` as the worker's ``feedback_reach``) scores above its threshold: what marking
    them normal has to teach it. The rest (mostly the stream's own normal motion before and after the
    action) it knows already; added, they would only pull other actions' first and last moments
    towards normal. All of them if none is (nothing to choose by)."""
    emb = backend.embed(normalise_windows(np.asarray(windows, np.float32), spec))
    extra = (
        {("s", profile.name): overlay.embeddings} if overlay is not None and len(overlay.embeddings) else None
    )
    scores = Scorer([profile], extra, feedback_reach=reach).score(emb, ["s"] * len(emb))[:, 0]
    hot = scores > profile.threshold
    return windows[hot] if hot.any() else windows


def add_windows(
    target: Profile,
    additions: Sequence[tuple[int, np.ndarray]],
    backend: EncoderBackend,
    *,
    spec: WindowSpec,
    reviewer: str,
    note: str = "",
    behaviour: str | None = None,
    now: datetime | None = None,
) -> Profile:
    """``target`` (a profile, or a camera overlay) with each (alert id, raw windows ``(K, F, 20, 3)``)
    added as a feedback behaviour (module docstring); unsaved (save it with :meth:`ProfileStore.save`).
    ``behaviour``: the behaviour the alerts show (an existing feedback behaviour of ``target`` they
    join, or the name of a new one); default: one new behaviour per alert, ``alert-<id>``."""
    if not additions:
        raise FeedbackError("nothing to add")
    refuse_enrolled(target, behaviour)
    emb, windows = _embedded(target, backend), target.windows
    meta = dict(target.meta)
    feedback_groups = {str(k): v for k, v in meta.get("feedback_groups", {}).items()}
    table = target.behaviour_table
    by_name = {b["name"]: b for b in table}
    next_group = int(target.groups.max()) + 1 if len(target.groups) else 0
    next_id = max((int(b["id"]) for b in table), default=-1) + 1
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    new_w, new_g, new_b, added = [], [], [], []
    for alert_id, raw in additions:
        if str(alert_id) in feedback_groups:
            raise FeedbackError(f"alert {alert_id} is already in {target.name}")
        w = normalise_windows(np.asarray(raw, np.float32), spec)
        w = w[np.isfinite(w).all(axis=(1, 2, 3))]
        if w.shape[1:2] != (spec.frames,) or not len(w):
            raise FeedbackError(
                f"alert {alert_id}: no usable window of {spec.frames} frames (got {np.asarray(raw).shape})"
            )
        name = behaviour or f"alert-{alert_id}"
        entry = by_name.get(name)
        if entry is None:
            entry = by_name[name] = {"id": next_id, "name": name, "kind": FEEDBACK, "alert_ids": [], "added_at": when,
                                     "reviewer": reviewer}  # fmt: skip
            next_id += 1
        entry["alert_ids"] = [*entry.get("alert_ids", []), alert_id]
        new_w.append(w)
        new_g.append(np.full(len(w), next_group))
        new_b.append(np.full(len(w), int(entry["id"])))
        feedback_groups[str(alert_id)] = next_group
        added.append(alert_id)
        next_group += 1
    w_all = np.concatenate(new_w)
    entry = {
        "action": "normal", "alert_ids": added, "windows": int(len(w_all)), "behaviour": behaviour,
        "reviewer": reviewer, "note": note, "at": when, "base_version": target.version,
    }  # fmt: skip
    meta.update(
        feedback_groups=feedback_groups,
        model_version=backend.model_version,
        behaviours=sorted(by_name.values(), key=lambda b: int(b["id"])),
        feedback=[*meta.get("feedback", []), entry],
    )
    new_emb = backend.embed(w_all)
    return replace(
        target,
        embeddings=np.concatenate([emb, new_emb]) if len(emb) else new_emb,
        groups=np.concatenate([target.groups, *new_g]).astype(np.int64),
        windows=np.concatenate([windows.astype(np.float32), w_all]),
        behaviours=np.concatenate([target.behaviour_ids, *new_b]),
        generated=np.concatenate([target.generated_rows, np.zeros(len(w_all), bool)]),
        meta=meta,
    )  # fmt: skip


def refuse_enrolled(profile: Profile, behaviour: str | None) -> None:
    """Refuse ``behaviour`` (the one alerts are marked normal as) when it is not a name, or names a
    behaviour ``profile`` enrolled: an alert's windows would pass for its enrolled clips."""
    if behaviour is None:
        return
    check_name(behaviour, "behaviour")
    if any(b["name"] == behaviour and b.get("kind") != FEEDBACK for b in profile.behaviour_table):
        raise FeedbackError(
            f"behaviour {behaviour!r} is enrolled: mark the alert as a behaviour of its own, or enrol its "
            "clips (haad enroll --behaviour)"
        )


def refuse_normal(
    store: AlertStore, profiles: ProfileStore, alert_id: int, profile: str, behaviour: str | None
) -> None:
    """Why marking alert ``alert_id`` normal for ``profile`` as ``behaviour`` would be refused, said
    before its preview (:func:`preview_normal`), which would otherwise read as if it had been applied:
    :class:`AlreadyNormal`, or :class:`FeedbackError` for a behaviour ``profile`` enrolled.
    :func:`mark_normal` checks again under the profile's lock."""
    if (where := current_feedback(store, profiles, alert_id)) is not None:
        raise AlreadyNormal(alert_id, where)
    refuse_enrolled(profiles.newest_readable(profile) or profiles.load(profile), behaviour)


def remove_windows(
    target: Profile,
    alert_ids: Sequence[int],
    backend: EncoderBackend,
    *,
    reviewer: str,
    note: str = "",
    now: datetime | None = None,
) -> Profile:
    """``target`` without the support windows ``alert_ids`` added (undo), and without a feedback
    behaviour left with none; unsaved."""
    feedback_groups = {str(k): int(v) for k, v in target.meta.get("feedback_groups", {}).items()}
    missing = [i for i in alert_ids if str(i) not in feedback_groups]
    if missing:
        raise FeedbackError(f"alert(s) {missing} are not in {target.name} v{target.version}")
    drop = np.isin(target.groups, [feedback_groups.pop(str(i)) for i in alert_ids])
    behaviours = target.behaviour_ids[~drop]
    table = []
    for b in target.behaviour_table:
        if b.get("kind") == FEEDBACK:
            b = {**b, "alert_ids": [a for a in b.get("alert_ids", []) if a not in alert_ids]}
            if not (behaviours == b["id"]).any():
                continue
        table.append(b)
    episodes = {
        k: v for k, v in target.meta.get("feedback_episodes", {}).items() if k not in map(str, alert_ids)
    }
    entry = {
        "action": "undo", "alert_ids": list(alert_ids), "windows": -int(drop.sum()), "reviewer": reviewer,
        "note": note, "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "base_version": target.version,
    }  # fmt: skip
    emb = _embedded(target, backend)
    meta = {
        **target.meta,
        "feedback_groups": feedback_groups,
        **({"feedback_episodes": episodes} if "feedback_episodes" in target.meta else {}),
        "model_version": backend.model_version,
        "behaviours": table,
        "feedback": [*target.meta.get("feedback", []), entry],
    }
    return replace(
        target, embeddings=emb[~drop], groups=target.groups[~drop], windows=target.windows[~drop],
        behaviours=behaviours, generated=target.generated_rows[~drop], meta=meta,
    )  # fmt: skip


def profile_of(alert_profile: str, profile: str | None) -> str:
    """The profile an alert's windows go to: its own, or for a multi-profile stream (``a+b``) the
    one named (it must be one of them)."""
    parts = alert_profile.split("+")
    if profile is None:
        if len(parts) > 1:
            raise FeedbackError(
                f"alert is against several profiles ({', '.join(parts)}): name the one it is normal for"
            )
        return alert_profile
    if profile not in parts:
        raise FeedbackError(f"profile {profile!r} did not score this alert (it was {alert_profile!r})")
    return profile


def empty_overlay(base: Profile, stream: str) -> Profile:
    """A camera's overlay of ``base`` before any feedback: no rows, the profile's window spec."""
    d = base.embeddings.shape[1]
    return Profile(
        stream, 0, np.zeros((0, d), np.float32), np.zeros(0, np.int64),
        np.zeros((0, *base.windows.shape[1:]), np.float32), base.threshold,
        {"profile": base.name, "stream": stream, "window": base.meta.get("window"), "behaviours": [],
         "model_version": base.model_version},
        behaviours=np.zeros(0, np.int64), generated=np.zeros(0, bool),
    )  # fmt: skip


def load_target(
    profiles: ProfileStore, name: str, stream: str | None
) -> tuple[ProfileStore, Profile, Profile]:
    """(the store, the current target, its profile): the profile itself, or its overlay for ``stream``
    (an empty one, version 0, if it has none yet); each the newest version that loads, the one a
    running daemon serves (ProfileError, from loading the newest, when none does)."""
    base = profiles.newest_readable(name) or profiles.load(name)
    if stream is None:
        return profiles, base, base
    store = overlay_store(profiles, name)
    check_name(stream)  # a folder name
    target = store.newest_readable(stream)
    if target is None and store.latest_version(stream) is not None:
        store.load(stream)  # raises why none loads
    return store, target or empty_overlay(base, stream), base


def _with_threshold_of(new: Profile, base: Profile, stream: str | None) -> Profile:
    """Feedback never moves the threshold: a new profile version keeps the one its enrolled behaviours
    calibrated (recalibrated only when the running encoder re-embedded them); an overlay records it."""
    if stream is not None:
        return replace(new, threshold=base.threshold)
    return replace(
        new, threshold=base.threshold, meta={**new.meta, "calibration": base.meta.get("calibration")}
    )


def preview_normal(store: AlertStore, alert_id: int, streams: Mapping[str, Sequence[str]],
                   profile: str | None = None) -> dict[str, Any]:  # fmt: skip
    """What marking alert ``alert_id`` normal would change under each scope: the profile and the
    cameras (the UI and the CLI show it before applying)."""
    a = store.get_alert(alert_id)
    name = profile_of(a.profile, profile)
    return {
        "profile": name,
        "stream": a.stream_id,
        "scopes": {s: affected_cameras(name, a.stream_id, s, streams) for s in ("camera", "all")},
    }


def mark_normal(
    store: AlertStore,
    profiles: ProfileStore,
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    alert_ids: Sequence[int],
    *,
    reviewer: str,
    scope: Scope,
    streams: Mapping[str, Sequence[str]] | None = None,
    note: str = "",
    profile: str | None = None,
    behaviour: str | None = None,
    stride: int = 5,
    reach: float = 1.0,
) -> FeedbackResult:
    """Make the alerts' action normal for ``scope`` (the alerts' camera, or every camera using their
    profile): a new version of the overlay or the profile; the change is logged and the alerts
    dismissed. ``streams``: the configured stream -> profiles map (which cameras ``all`` reaches);
    ``stride``: the live stride (frames between windows) the alerts' stretches are re-cut at;
    ``reach``: the worker's ``feedback_reach`` (which of their windows it finds normal already)."""
    if not alert_ids:
        raise FeedbackError("no alert given")
    alerts = [store.get_alert(i) for i in alert_ids]  # KeyError for a missing one
    names = {profile_of(a.profile, profile) for a in alerts}
    if len(names) != 1:
        raise FeedbackError(f"the alerts belong to different profiles: {sorted(names)}")
    name = names.pop()
    cameras = {a.stream_id for a in alerts}
    if scope == "camera" and len(cameras) != 1:
        raise FeedbackError(
            f"the alerts come from several cameras ({sorted(cameras)}): mark them one camera at a time"
        )
    stream = alerts[0].stream_id if scope == "camera" else None
    stored = []
    for a in alerts:
        if a.windows is None or a.window_times is None:
            raise FeedbackError(f"alert {a.id} has no stored windows (dropped by retention)")
        stored.append((a.id, a.windows, a.window_times))
    what = target_name(name, stream)
    for a in alerts:
        settle_feedback(store, profiles, a.id)
    with profile_lock(profiles, name):
        # Checked, and the row below written, under the profile's lock: an alert already normal in one
        # scope would otherwise go into the other too (two reviewers at once, or camera then all), and
        # undo would take it out of only the last one.
        for a in alerts:
            if (where := _where(store, profiles, a.id)) is not None:
                raise AlreadyNormal(a.id, where)
        target_store, target, base = load_target(profiles, name, stream)
        refuse_enrolled(base, behaviour)  # a camera's overlay holds only feedback: its profile enrolled
        base = reembed(base, backend, calibration)
        spec = _spec(base, backend)
        overlay = target if stream is not None else None
        additions = [
            (
                i,
                still_abnormal(
                    action_windows(w, t, spec, stride), base, backend, spec=spec, overlay=overlay, reach=reach
                ),
            )
            for i, w, t in stored
        ]
        new = add_windows(
            target, additions, backend, spec=spec, reviewer=reviewer, note=note, behaviour=behaviour
        )
        # Which alerts these are, beyond their ids: what current_feedback knows them by in a
        # version no row of this log records (a mark killed before the log's commit).
        episodes = {**new.meta.get("feedback_episodes", {}), **{str(a.id): a.episode_key for a in alerts}}
        new = replace(new, meta={**new.meta, "feedback_episodes": episodes})
        now = datetime.now(UTC)
        rows = [ProfileFeedback(alert_id=a.id, profile=what, base_version=target.version, action="normal",
                                reviewer=reviewer, note=note, created_at=now) for a in alerts]  # fmt: skip
        saved = _save_recorded(store, target_store, _with_threshold_of(new, base, stream), rows)
    reached = affected_cameras(name, alerts[0].stream_id, scope, streams or {})
    log.info("alerts %s made normal for %s (%s) v%d by %s", list(alert_ids), what, ", ".join(reached), saved.version,
             reviewer)  # fmt: skip
    behaviour_names = {b["name"] for b in saved.behaviour_table} - {b["name"] for b in target.behaviour_table}
    return FeedbackResult(
        name, scope, stream, tuple(reached), behaviour or ", ".join(sorted(behaviour_names)) or "",
        target.version, saved.version, tuple(alert_ids), len(saved.windows) - len(target.windows), base.threshold,
    )  # fmt: skip


def _save_recorded(
    store: AlertStore, target_store: ProfileStore, profile: Profile, rows: Sequence[ProfileFeedback]
) -> Profile:
    """Save ``profile`` as a new version inside the alert log's transaction that adds ``rows`` (the
    feedback that made it; their ``version`` is set to the saved one) and sets their alerts' status
    (:func:`_status_after`): committed together, so no kill leaves an alert dismissed that no row
    says is normal, or the reverse. The rows go in first: a log that refuses writes (read-only, gone)
    fails before a version exists that no row records, which undo could not find and a retry would
    add to again. Only a commit failing (or the process killed) after the save can still leave such
    a version: :func:`settle_feedback` records it from the version's own ``meta["feedback"]``."""
    with store.writing() as s:
        for row in rows:
            row.version = row.base_version  # until the save gives the version
        s.add_all(rows)
        s.flush()
        saved = target_store.save(profile)
        for row in rows:
            row.version = saved.version
            store.set_status(row.alert_id, *_status_after(row), reviewer=row.reviewer, session=s)
    return saved


def _status_after(row: ProfileFeedback) -> tuple[str, str]:
    """The status and note a feedback row gives its alert: dismissed as normal, or reopened by undo."""
    if row.action == "undo":
        return "new", f"undone: removed from {row.profile} v{row.version}"
    name, stream = parse_target(row.profile)
    added_to = "the overlay of camera " + stream if stream else "every camera's profile"
    text = f"normal: added to {name} ({added_to}), v{row.version}"
    return "dismissed", f"{text}; {row.note}" if row.note else text


def undo_normal(
    store: AlertStore,
    profiles: ProfileStore,
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    alert_id: int,
    *,
    reviewer: str,
    streams: Mapping[str, Sequence[str]] | None = None,
    note: str = "",
) -> FeedbackResult:
    """Take an alert's windows out of the profile or overlay they went to (a new version of it), log it
    and reopen the alert."""
    where = current_feedback(store, profiles, alert_id)
    if where is None:
        last = feedback_history(store, alert_id)[-1:]
        if last and last[0]["action"] == "undo":
            raise AlreadyUndone(alert_id, last[0]["profile"], last[0]["version"])
        raise FeedbackError(f"alert {alert_id} is not in any profile")
    name, stream = parse_target(where)
    with profile_lock(profiles, name):
        target_store, target, base = load_target(profiles, name, stream)
        base = reembed(base, backend, calibration)
        new = remove_windows(target, [alert_id], backend, reviewer=reviewer, note=note)
        row = ProfileFeedback(alert_id=alert_id, profile=where, base_version=target.version, action="undo",
                              reviewer=reviewer, note=note, created_at=datetime.now(UTC))  # fmt: skip
        saved = _save_recorded(store, target_store, _with_threshold_of(new, base, stream), [row])
    alert = store.get_alert(alert_id)
    scope: Scope = "camera" if stream else "all"
    gone = {b["name"] for b in target.behaviour_table} - {b["name"] for b in saved.behaviour_table}
    return FeedbackResult(
        name, scope, stream, tuple(affected_cameras(name, alert.stream_id, scope, streams or {})),
        ", ".join(sorted(gone)), target.version, saved.version, (alert_id,), len(saved.windows) - len(target.windows),
        base.threshold,
    )  # fmt: skip


def feedback_history(store: AlertStore, alert_id: int) -> list[dict[str, Any]]:
    with store.reading() as s:
        rows = s.scalars(
            select(ProfileFeedback).where(ProfileFeedback.alert_id == alert_id).order_by(ProfileFeedback.id)
        )
        return [
            {
                "profile": r.profile, "base_version": r.base_version, "version": r.version, "action": r.action,
                "reviewer": r.reviewer, "note": r.note, "at": r.created_at.isoformat(),
            }
            for r in rows
        ]  # fmt: skip


def current_feedback(store: AlertStore, profiles: ProfileStore, alert_id: int) -> str | None:
    """Where an alert's windows are now (``profile`` or ``profile@stream``): of the profiles and
    overlays "normal" ever added them to, the latest whose newest version still holds them, else the
    one of those a mark could add them to (the alert's profiles, their overlays for its camera) whose
    newest version holds them under the alert's episode key; else None. A rollback, a re-enrolment or
    a deleted profile takes them out, or puts them back, without a row in the alert log, and a mark
    killed (or its log's commit failing) once its version was whole added them without one: by the
    rows alone, an alert could be offered only an undo that fails, or only a "mark as normal" refused
    because its windows are there already. The episode key tells this log's alert from another log's
    of the same id in a profile copied from another site. A mark or undo whose version the log missed
    is recorded first (:func:`settle_feedback`), so the alert's status says what the profile does."""
    settle_feedback(store, profiles, alert_id)
    return _where(store, profiles, alert_id)


def _places(store: AlertStore, alert_id: int) -> list[tuple[str, str | None]]:
    """Where an alert's windows may be, latest first: (target, the episode key its metadata must give
    the alert: None for a target a row of the log names)."""
    added = [h["profile"] for h in feedback_history(store, alert_id) if h["action"] == "normal"]
    places: list[tuple[str, str | None]] = [(w, None) for w in dict.fromkeys(reversed(added))]
    with store.reading() as s:
        alert = s.execute(
            select(Alert.profile, Alert.stream_id, Alert.episode_key).where(Alert.id == alert_id)
        ).first()
    if alert is not None:
        could = (target_name(n, at) for n in alert.profile.split("+") for at in (None, alert.stream_id))
        places += [(w, alert.episode_key) for w in could if w not in added]
    return places


def _newest_meta(profiles: ProfileStore, where: str) -> dict[str, Any] | None:
    name, stream = parse_target(where)
    try:
        return (profiles if stream is None else overlay_store(profiles, name)).meta(stream or name)
    except ProfileError:
        return None


def _where(store: AlertStore, profiles: ProfileStore, alert_id: int) -> str | None:
    """:func:`current_feedback` without recording anything (its caller holds the profile's lock)."""
    key = str(alert_id)
    for where, episode in _places(store, alert_id):
        meta = _newest_meta(profiles, where)
        if meta is None or key not in meta.get("feedback_groups", {}):
            continue
        if episode in (None, meta.get("feedback_episodes", {}).get(key)):
            return where
    return None


def settle_feedback(store: AlertStore, profiles: ProfileStore, alert_id: int) -> bool:
    """Record a mark or undo of the alert that a profile's (or overlay's) newest version made but the
    alert log missed (the process killed, or the log's commit failing, after the save): its row, from
    the version's own ``meta["feedback"]``, and the alert's status (dismissed, or reopened), as the
    whole mark or undo would have. Without this, a killed undo left the alert dismissed though the
    served version no longer holds it, and a killed mark left it new though it does. Under the
    profile's lock, taken only when such a version is seen: no writer is between its save and its
    commit then. A lock or log that takes no write now leaves it for a later call (logged): False
    then, True when nothing is left unrecorded."""
    with store.reading() as s:
        episode = s.scalar(select(Alert.episode_key).where(Alert.id == alert_id))
    settled = True
    for where, _ in _places(store, alert_id):
        if (seen := _unrecorded(store, profiles, where, alert_id, episode)) is None:
            continue
        action, version = seen[0]["action"], seen[1]
        try:
            with profile_lock(profiles, parse_target(where)[0]), store.writing() as s:
                found = _unrecorded(store, profiles, where, alert_id, episode)
                if found is None:  # recorded meanwhile by the writer the lock waited for
                    continue
                entry, version = found
                row = ProfileFeedback(
                    alert_id=alert_id, profile=where, base_version=int(entry["base_version"]), version=version,
                    action=action, reviewer=entry.get("reviewer", ""), note=entry.get("note", ""),
                    created_at=datetime.fromisoformat(entry["at"]),
                )  # fmt: skip
                s.add(row)
                store.set_status(alert_id, *_status_after(row), reviewer=row.reviewer, session=s)
        except (ProfileError, SQLAlchemyError) as e:
            log.warning("alert %d: the %s that made %s v%d is not in the alert log yet: %s", alert_id, action,
                        where, version, e)  # fmt: skip
            settled = False
            continue
        log.warning("alert %d: recorded the %s that made %s v%d, which the alert log missed", alert_id,
                    action, where, version)  # fmt: skip
    return settled


class FeedbackSettler:
    """Settles (:func:`settle_feedback`) the alerts of every profile's and camera overlay's newest
    feedback entry, without anyone opening them: run by housekeeping every ``reload_every_s`` (and so
    at ``haad run``'s start), so that the alert list says what the profiles do (a mark killed once
    its version was saved left its alert "new" in the list until someone opened it). Cheap: a
    version's metadata is read once, and again only while its alerts could not be settled (the
    alert log or the lock took no write: tried at the next poll)."""

    def __init__(self, store: AlertStore, profiles: ProfileStore) -> None:
        self.store, self.profiles = store, profiles
        self.settled: dict[str, tuple[int, int]] = {}  # target -> the stamp of its version settled

    def poll(self) -> None:
        for name in self.profiles.names():
            overlays = overlay_store(self.profiles, name)
            targets = [(name, self.profiles), *((target_name(name, s), overlays) for s in overlays.names())]
            for where, folder in targets:
                stamp = folder.stamp(parse_target(where)[1] or name)
                if stamp is None or self.settled.get(where) == stamp:
                    continue
                try:
                    if self._settle(where):
                        self.settled[where] = stamp
                except (ProfileError, SQLAlchemyError, OSError) as e:  # the log down: the next poll
                    log.warning("cannot settle the feedback of %s yet: %s", where, e)

    def run(self, done: threading.Event, every_s: float) -> None:
        """Poll until ``done``, every ``every_s``."""
        while True:
            try:
                self.poll()
            except Exception:
                log.exception("settling feedback failed; trying again later")
            if done.wait(every_s):
                return

    def _settle(self, where: str) -> bool:
        meta = _newest_meta(self.profiles, where)
        entries = meta.get("feedback") if meta is not None else None
        alert_ids = entries[-1].get("alert_ids", []) if entries else []
        return all([settle_feedback(self.store, self.profiles, int(i)) for i in alert_ids])


def _unrecorded(
    store: AlertStore, profiles: ProfileStore, where: str, alert_id: int, episode: str | None
) -> tuple[dict[str, Any], int] | None:
    """(the feedback entry, the version) when the newest version of ``where`` was made by a mark or
    undo of this log's alert ``alert_id`` that no row records: its last ``meta["feedback"]`` entry
    names the alert, and no row has its action and base version (a rollback's copy of an older
    version carries that version's entry, recorded). This log's: for a mark, the version gives the
    alert's episode key; for an undo, a row says this log's alert was marked normal there."""
    meta = _newest_meta(profiles, where)
    if meta is None or not meta.get("feedback") or alert_id not in meta["feedback"][-1].get("alert_ids", []):
        return None
    entry = meta["feedback"][-1]
    if entry["action"] == "normal" and meta.get("feedback_episodes", {}).get(str(alert_id)) != episode:
        return None
    rows = [(h["profile"], h["action"], h["base_version"]) for h in feedback_history(store, alert_id)]
    if entry["action"] == "undo" and (where, "normal") not in {(p, a) for p, a, _ in rows}:
        return None
    if (where, entry["action"], entry["base_version"]) in rows:
        return None
    return entry, int(meta["version"])
