"""Behaviour profiles: the support embeddings and threshold that define "normal", versioned on disk.

Layout: ``<profiles_dir>/<name>/v0001.npz`` + ``v0001.json``; the highest version is current. A
profile keeps the normalised support windows it was built from, so a daemon running a different
encoder can re-embed them instead of scoring against embeddings from another model.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from models.files import atomic_write
from models.preprocess import WindowSpec
from models.skeleton import NUM_JOINTS

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VERSION = re.compile(r"^v(\d{4,})\.npz$")
# The window spec fields that decide what a support window holds (a profile records them at enrolment).
_WINDOW_CONTENT = ("frames", "fps", "root", "scale", "facing")
# What a truncated, foreign or hand-edited profile file raises inside json and numpy.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


class ProfileError(ValueError):
    """A profile that is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Profile:
    """A versioned behaviour profile.

    embeddings: ``(A, D)`` float32 support embeddings (real windows and generated variants).
    groups: ``(A,)`` int, the enrolment clip each embedding comes from.
    windows: ``(A, F, J, 3)`` normalised windows behind the embeddings (float16 on disk).
    threshold: score above which a window is abnormal for this profile.
    meta: model_version, window spec, calibration details, sources, augmentation settings, ...
    calibration_windows / calibration_groups: ``(C, F, J, 3)`` normalised windows and ``(C,)`` group
        ids the threshold was calibrated on when those are not the support windows (one clip: the
        windows of its two halves), so a re-embedding calibrates the same way; None otherwise.
    """

    name: str
    version: int
    embeddings: np.ndarray
    groups: np.ndarray
    windows: np.ndarray
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)
    calibration_windows: np.ndarray | None = None
    calibration_groups: np.ndarray | None = None

    @property
    def model_version(self) -> str:
        return str(self.meta.get("model_version", ""))


class ModelFacts(Protocol):
    """What a profile must agree with: any encoder backend, or edge.backends.base.EncoderFacts."""

    @property
    def model_version(self) -> str: ...
    @property
    def embedding_dim(self) -> int: ...
    @property
    def spec(self) -> WindowSpec: ...


def check_model(profile: Profile, model: ModelFacts) -> Profile:
    """``profile`` when ``model`` can score it; ProfileError otherwise: support windows of another
    size or cut by another window spec than the model's (re-embedding them would compare unlike
    things), or embeddings of another size than that very model gives."""
    what = f"profile {profile.name} v{profile.version}"
    spec = model.spec
    if profile.windows.shape[1:] != (spec.frames, NUM_JOINTS, 3):
        raise ProfileError(
            f"{what}: its windows are {profile.windows.shape[1:]}, the model {model.model_version} takes "
            f"({spec.frames}, {NUM_JOINTS}, 3); enrol it again"
        )
    recorded, expected = profile.meta.get("window") or {}, spec.to_dict()
    differ = [k for k in _WINDOW_CONTENT if k in recorded and k in expected and recorded[k] != expected[k]]
    if differ:
        raise ProfileError(
            f"{what}: cut by another window spec than the model's ({', '.join(f'{k} {recorded[k]} vs {expected[k]}' for k in differ)}); enrol it again"
        )
    if profile.model_version == model.model_version and profile.embeddings.shape[1] != model.embedding_dim:
        raise ProfileError(
            f"{what}: {profile.embeddings.shape[1]}-dimensional embeddings, but model {model.model_version} "
            f"gives {model.embedding_dim}; enrol it again"
        )
    return profile


def check_threshold(threshold: float, what: str) -> float:
    """A usable threshold: finite and positive (a NaN one would never alert, a negative one always)."""
    if not (math.isfinite(threshold) and threshold > 0):
        raise ProfileError(f"{what}: threshold must be a finite positive number; got {threshold}")
    return threshold


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ProfileError(f"invalid profile name {name!r}: use letters, digits, '.', '_' or '-' (max 64)")
    return name


class ProfileStore:
    """Profiles in a directory; safe against readers seeing half-written files (atomic renames)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in folder.iterdir())
        return sorted(
            int(m.group(1)) for m in found if m and (folder / f"v{int(m.group(1)):04d}.json").exists()
        )

    def latest_version(self, name: str) -> int | None:
        v = self.versions(name)
        return v[-1] if v else None

    def load(self, name: str, version: int | None = None) -> Profile:
        """A profile version (default: the newest); ProfileError for anything unusable in it."""
        check_name(name)
        version = version if version is not None else self.latest_version(name)
        if version is None:
            raise ProfileError(f"no profile named {name!r} in {self.root.resolve()}")
        base = self.root / name / f"v{version:04d}"
        try:
            meta = json.loads(base.with_suffix(".json").read_text())
            with np.load(base.with_suffix(".npz"), allow_pickle=False) as d:
                emb, groups, windows = d["embeddings"], d["groups"], d["windows"]
                cal_w = d["calibration_windows"].astype(np.float32) if "calibration_windows" in d else None
                cal_g = d["calibration_groups"].astype(np.int64) if "calibration_groups" in d else None
            threshold = float(meta["threshold"])
        except _UNREADABLE as e:
            raise ProfileError(f"profile {name} v{version} is unreadable: {type(e).__name__}: {e}") from e
        if emb.ndim != 2 or len(emb) == 0 or len(groups) != len(emb) or not np.isfinite(emb).all():
            raise ProfileError(f"profile {name} v{version} has inconsistent or non-finite embeddings")
        if windows.ndim != 4 or len(windows) != len(emb):
            raise ProfileError(f"profile {name} v{version}: windows do not match its embeddings")
        check_threshold(threshold, f"profile {name} v{version}")
        return Profile(
            name, version, emb.astype(np.float32), groups.astype(np.int64), windows.astype(np.float32),
            threshold, meta, cal_w, cal_g,
        )  # fmt: skip

    def stamp(self, name: str) -> tuple[int, int] | None:
        """(newest version, when its files last changed): what tells a watcher to load it again."""
        version = self.latest_version(name)
        if version is None:
            return None
        base = self.root / name / f"v{version:04d}"
        try:
            changed = max(base.with_suffix(s).stat().st_mtime_ns for s in (".json", ".npz"))
        except OSError:
            return None
        return version, changed

    def save(self, profile: Profile) -> Profile:
        """Write ``profile`` as the next version of its name; returns it with that version."""
        check_name(profile.name)
        check_threshold(profile.threshold, f"profile {profile.name}")
        folder = self.root / profile.name
        folder.mkdir(parents=True, exist_ok=True)
        version = (self.latest_version(profile.name) or 0) + 1
        saved = Profile(
            profile.name, version, profile.embeddings, profile.groups, profile.windows,
            profile.threshold, {**profile.meta, "threshold": profile.threshold, "version": version},
            profile.calibration_windows, profile.calibration_groups,
        )  # fmt: skip
        calibration: dict[str, np.ndarray] = {}
        if saved.calibration_windows is not None and saved.calibration_groups is not None:
            calibration = {
                "calibration_windows": saved.calibration_windows.astype(np.float16),
                "calibration_groups": saved.calibration_groups.astype(np.int64),
            }
        base = folder / f"v{version:04d}"
        atomic_write(base.with_suffix(".npz"), lambda f: np.savez_compressed(
            f,
            embeddings=saved.embeddings.astype(np.float32),
            groups=saved.groups.astype(np.int64),
            windows=saved.windows.astype(np.float16),
            **calibration,
        ))  # fmt: skip
        # The JSON goes last: a version counts only once both files exist.
        atomic_write(base.with_suffix(".json"), lambda f: f.write(json.dumps(saved.meta, indent=2).encode()))
        return saved


class ProfileWatcher:
    """Notices new, changed and vanished profiles so a running daemon follows them without a restart.

    A version that fails to load is reported once and tried again only when its files change; the
    caller keeps serving the previous version meanwhile.
    """

    def __init__(self, store: ProfileStore, names: set[str] | None = None) -> None:
        self.store = store
        self.names = names  # None = every profile in the store
        self.seen: dict[str, tuple[int, int]] = {}

    def poll(self) -> tuple[list[Profile], dict[str, str], list[str]]:
        """-> (profiles new or changed, {name: why its newest version was refused}, names gone)."""
        names = set(self.store.names()) if self.names is None else self.names
        changed: list[Profile] = []
        failed: dict[str, str] = {}
        for name in sorted(names):
            stamp = self.store.stamp(name)
            if stamp is None or self.seen.get(name) == stamp:
                continue
            self.seen[name] = stamp
            try:
                changed.append(self.store.load(name, stamp[0]))
            except ProfileError as e:
                failed[name] = str(e)
        gone = sorted(n for n in self.seen if self.store.stamp(n) is None)
        return changed, failed, gone
