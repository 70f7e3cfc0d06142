""" "Mark as normal": a reviewed alert's windows join its profile's support set as a new version.

A few-shot profile learns from every dismissed alert: the alert's stored raw windows ``(K, F, J, 3)``
are normalised with the profile's window spec, embedded with the running encoder, appended to the
support set as one new clip (group) per alert, and the threshold is recalibrated
(:func:`edge.scoring.calibrate_threshold`). The new version's metadata records what was added, by
whom and when (``meta["feedback"]``, and ``meta["feedback_groups"]``: alert id -> support group),
and a row per alert goes to ``profile_feedback`` in the alert log. A running worker picks the
version up like any other (its ``ProfileWatcher``).

Calibration: the leave-one-clip-out scores are taken over the *enrolled* real windows only
(``calibrate_on="enrolled"``, the default): a marked alert is by construction far from the rest of
the support set, so scoring it as a query would drag the threshold up to its own score and blind the
profile to real anomalies; as support it lowers the scores of windows like it, which is the point.
``haad eval stream --feedback K`` measures both choices.

Undo removes an alert's windows again and recalibrates: with nothing else changed in between, the
result equals the version before the addition (same windows, embeddings and threshold).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import select

from config.worker import CalibrationConfig
from edge.backends import EncoderBackend
from edge.profiles import Profile, ProfileStore
from edge.scoring import calibrate_threshold
from edge.store import AlertStore
from edge.store.models import ProfileFeedback
from models.preprocess import WindowSpec, normalise_windows

log = logging.getLogger("haad.feedback")
CalibrateOn = Literal["enrolled", "all"]


class FeedbackError(ValueError):
    """The alert cannot be added to (or removed from) a profile; the message says why."""


@dataclass(frozen=True)
class FeedbackResult:
    profile: str
    base_version: int
    version: int
    alert_ids: tuple[int, ...]
    windows: int  # support windows added (negative: removed)
    threshold_before: float
    threshold_after: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def enrolled_real_windows(profile: Profile) -> int:
    """How many of the first support windows are real enrolled ones (augmentation puts its
    variants after them; feedback windows come after both)."""
    if "enrolled_real_windows" in profile.meta:
        return int(profile.meta["enrolled_real_windows"])
    n = int(profile.meta.get("support_windows", len(profile.windows)))
    aug = profile.meta.get("augmentation")
    return n // (1 + int(aug["n_g"])) if aug else n


def _spec(profile: Profile, backend: EncoderBackend) -> WindowSpec:
    window = profile.meta.get("window")
    return WindowSpec(**window) if window else backend.spec


def _recalibrated(
    profile: Profile,
    embeddings: np.ndarray,
    groups: np.ndarray,
    windows: np.ndarray,
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    calibrate_on: CalibrateOn,
    meta: dict[str, Any],
) -> Profile:
    n_enrolled = int(meta.get("support_windows", len(windows)))
    real = np.zeros(len(windows), bool)
    real[: enrolled_real_windows(profile)] = True
    if calibrate_on == "all":
        real[n_enrolled:] = True  # feedback windows are real too
    n_clips = len(np.unique(groups[real]))
    # One enrolled clip: leave-one-window-out over it, as enrolment does (scoring.py).
    groups_for_cal = groups if n_clips > 1 or calibrate_on == "all" else np.arange(len(groups))
    cal = calibrate_threshold(
        embeddings, groups_for_cal, target_far=calibration.target_far, margin=calibration.margin, queries=real
    )
    meta = {**meta, "model_version": backend.model_version, "calibration": cal.to_dict()}
    return Profile(profile.name, profile.version, embeddings, groups, windows, cal.threshold, meta)


def windows_per_clip(profile: Profile) -> int:
    """Real windows per enrolled clip (rounded, >= 1): how many windows one marked alert adds."""
    n_real = enrolled_real_windows(profile)
    clips = len(np.unique(profile.groups[:n_real])) if n_real else 1
    return max(1, round(n_real / max(clips, 1)))


def add_windows(
    profile: Profile,
    additions: Sequence[tuple[int, np.ndarray, np.ndarray | None]],
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    *,
    reviewer: str,
    note: str = "",
    calibrate_on: CalibrateOn = "enrolled",
    per_alert: int | None = None,
    now: datetime | None = None,
) -> Profile:
    """``profile`` with each (alert id, raw windows ``(K, F, 20, 3)``, their scores or None) added
    as a new support clip; unsaved (save it with :meth:`ProfileStore.save`).

    Each alert adds at most ``per_alert`` windows (default :func:`windows_per_clip`: an alert
    weighs as much as an enrolled clip), its highest-scoring ones: Eq. 6 averages over the whole
    support set, so an alert's six stored windows against a support of a few windows would pull
    every score, abnormal ones included, towards that one motion."""
    if not additions:
        raise FeedbackError("nothing to add")
    spec = _spec(profile, backend)
    emb, windows = profile.embeddings, profile.windows
    if profile.model_version != backend.model_version:  # enrolled with another encoder: re-embed all
        emb = backend.embed(windows.astype(np.float32))
    meta = dict(profile.meta)
    meta.setdefault("support_windows", int(len(windows)))
    meta.setdefault("enrolled_real_windows", enrolled_real_windows(profile))
    feedback_groups = {str(k): v for k, v in meta.get("feedback_groups", {}).items()}
    next_group = int(profile.groups.max()) + 1 if len(profile.groups) else 0
    new_w, new_g, added = [], [], []
    cap = per_alert if per_alert is not None else windows_per_clip(profile)
    for alert_id, raw, scores in additions:
        if str(alert_id) in feedback_groups:
            raise FeedbackError(f"alert {alert_id} is already in profile {profile.name}")
        w = normalise_windows(np.asarray(raw, np.float32), spec)
        usable = np.isfinite(w).all(axis=(1, 2, 3))
        order = np.argsort(-np.asarray(scores)) if scores is not None else np.arange(len(w))[::-1]
        chosen = sorted(int(i) for i in [i for i in order if usable[i]][:cap])
        w = w[chosen]
        if w.shape[1] != spec.frames or not len(w):
            raise FeedbackError(
                f"alert {alert_id}: no usable window of {spec.frames} frames (got {np.asarray(raw).shape})"
            )
        new_w.append(w)
        new_g.append(np.full(len(w), next_group))
        feedback_groups[str(alert_id)] = next_group
        added.append(alert_id)
        next_group += 1
    w_all = np.concatenate(new_w)
    embeddings = np.concatenate([emb, backend.embed(w_all)])
    groups = np.concatenate([profile.groups, *new_g])
    windows_all = np.concatenate([windows.astype(np.float32), w_all])
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    entry = {
        "action": "normal", "alert_ids": added, "windows": int(len(w_all)), "reviewer": reviewer,
        "note": note, "at": when, "base_version": profile.version, "threshold_before": profile.threshold,
    }  # fmt: skip
    meta["feedback_groups"] = feedback_groups
    new = _recalibrated(profile, embeddings, groups, windows_all, backend, calibration, calibrate_on, meta)
    meta = {
        **new.meta,
        "feedback": [*profile.meta.get("feedback", []), {**entry, "threshold_after": new.threshold}],
    }
    return Profile(new.name, new.version, new.embeddings, new.groups, new.windows, new.threshold, meta)


def remove_windows(
    profile: Profile,
    alert_ids: Sequence[int],
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    *,
    reviewer: str,
    note: str = "",
    calibrate_on: CalibrateOn = "enrolled",
    now: datetime | None = None,
) -> Profile:
    """``profile`` without the support clips that ``alert_ids`` added (undo); unsaved."""
    feedback_groups = {str(k): int(v) for k, v in profile.meta.get("feedback_groups", {}).items()}
    missing = [i for i in alert_ids if str(i) not in feedback_groups]
    if missing:
        raise FeedbackError(f"alert(s) {missing} are not in profile {profile.name} v{profile.version}")
    drop = np.isin(profile.groups, [feedback_groups.pop(str(i)) for i in alert_ids])
    emb = profile.embeddings
    if profile.model_version != backend.model_version:
        emb = backend.embed(profile.windows.astype(np.float32))
    entry = {
        "action": "undo", "alert_ids": list(alert_ids), "windows": -int(drop.sum()), "reviewer": reviewer,
        "note": note, "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "base_version": profile.version, "threshold_before": profile.threshold,
    }  # fmt: skip
    meta = {**profile.meta, "feedback_groups": feedback_groups}
    new = _recalibrated(
        profile,
        emb[~drop],
        profile.groups[~drop],
        profile.windows[~drop],
        backend,
        calibration,
        calibrate_on,
        meta,
    )
    meta = {
        **new.meta,
        "feedback": [*profile.meta.get("feedback", []), {**entry, "threshold_after": new.threshold}],
    }
    return Profile(new.name, new.version, new.embeddings, new.groups, new.windows, new.threshold, meta)


@contextmanager
def profile_lock(profiles: ProfileStore, name: str) -> Iterator[None]:
    """Serialises read-modify-save of one profile across processes (server, CLI)."""
    folder = profiles.root / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".feedback.lock", "ab") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


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


def mark_normal(
    store: AlertStore,
    profiles: ProfileStore,
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    alert_ids: Sequence[int],
    *,
    reviewer: str,
    note: str = "",
    profile: str | None = None,
    calibrate_on: CalibrateOn = "enrolled",
) -> FeedbackResult:
    """Add the alerts' windows to their profile as a new version, log it and dismiss the alerts."""
    if not alert_ids:
        raise FeedbackError("no alert given")
    alerts = [store.get_alert(i) for i in alert_ids]  # KeyError for a missing one
    names = {profile_of(a.profile, profile) for a in alerts}
    if len(names) != 1:
        raise FeedbackError(f"the alerts belong to different profiles: {sorted(names)}")
    name = names.pop()
    for a in alerts:
        if a.windows is None:
            raise FeedbackError(f"alert {a.id} has no stored windows (dropped by retention)")
    with profile_lock(profiles, name):
        base = profiles.load(name)
        new = add_windows(
            base,
            [(a.id, a.windows, a.window_scores) for a in alerts if a.windows is not None],
            backend,
            calibration,
            reviewer=reviewer,
            note=note,
            calibrate_on=calibrate_on,
        )
        saved = profiles.save(new)
    now = datetime.now(UTC)
    with store.writing() as s:
        for a in alerts:
            s.add(ProfileFeedback(alert_id=a.id, profile=name, base_version=base.version, version=saved.version,
                                  action="normal", reviewer=reviewer, note=note, created_at=now))  # fmt: skip
    for a in alerts:
        text = f"normal: added to {name} v{saved.version}" + (f"; {note}" if note else "")
        store.set_status(a.id, "dismissed", text, reviewer=reviewer)
    log.info("alerts %s added to profile %s v%d by %s (threshold %.3f -> %.3f)", list(alert_ids), name,
             saved.version, reviewer, base.threshold, saved.threshold)  # fmt: skip
    added = len(saved.windows) - len(base.windows)
    return FeedbackResult(
        name, base.version, saved.version, tuple(alert_ids), added, base.threshold, saved.threshold
    )


def undo_normal(
    store: AlertStore,
    profiles: ProfileStore,
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    alert_id: int,
    *,
    reviewer: str,
    note: str = "",
    calibrate_on: CalibrateOn = "enrolled",
) -> FeedbackResult:
    """Take an alert's windows out of its profile again (a new version), log it and reopen the alert."""
    name = current_feedback(store, alert_id)
    if name is None:
        raise FeedbackError(f"alert {alert_id} is not in any profile")
    with profile_lock(profiles, name):
        base = profiles.load(name)
        new = remove_windows(base, [alert_id], backend, calibration, reviewer=reviewer, note=note,
                             calibrate_on=calibrate_on)  # fmt: skip
        saved = profiles.save(new)
    with store.writing() as s:
        s.add(ProfileFeedback(alert_id=alert_id, profile=name, base_version=base.version, version=saved.version,
                              action="undo", reviewer=reviewer, note=note, created_at=datetime.now(UTC)))  # fmt: skip
    store.set_status(alert_id, "new", f"undone: removed from {name} v{saved.version}", reviewer=reviewer)
    return FeedbackResult(name, base.version, saved.version, (alert_id,), len(saved.windows) - len(base.windows),
                          base.threshold, saved.threshold)  # fmt: skip


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


def current_feedback(store: AlertStore, alert_id: int) -> str | None:
    """The profile an alert's windows are in now (its last action was 'normal'), else None."""
    history = feedback_history(store, alert_id)
    return history[-1]["profile"] if history and history[-1]["action"] == "normal" else None
