"""Behaviour profiles: the support embeddings and threshold that define "normal", versioned on disk.

Layout: ``<profiles_dir>/<name>/v0001.npz`` + ``v0001.json``; the highest version is current. A
profile keeps the normalised support windows it was built from, so a daemon running a different
encoder can re-embed them instead of scoring against embeddings from another model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.files import atomic_write

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VERSION = re.compile(r"^v(\d{4,})\.npz$")


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
        check_name(name)
        version = version if version is not None else self.latest_version(name)
        if version is None:
            raise ProfileError(f"no profile named {name!r} in {self.root}")
        base = self.root / name / f"v{version:04d}"
        try:
            meta = json.loads(base.with_suffix(".json").read_text())
            with np.load(base.with_suffix(".npz"), allow_pickle=False) as d:
                emb, groups, windows = d["embeddings"], d["groups"], d["windows"]
                cal_w = d["calibration_windows"].astype(np.float32) if "calibration_windows" in d else None
                cal_g = d["calibration_groups"].astype(np.int64) if "calibration_groups" in d else None
        except (OSError, ValueError, KeyError) as e:
            raise ProfileError(f"profile {name} v{version} is unreadable: {e}") from e
        if emb.ndim != 2 or len(emb) == 0 or len(groups) != len(emb) or not np.isfinite(emb).all():
            raise ProfileError(f"profile {name} v{version} has inconsistent or non-finite embeddings")
        return Profile(
            name, version, emb.astype(np.float32), groups.astype(np.int64), windows.astype(np.float32),
            float(meta["threshold"]), meta, cal_w, cal_g,
        )  # fmt: skip

    def save(self, profile: Profile) -> Profile:
        """Write ``profile`` as the next version of its name; returns it with that version."""
        check_name(profile.name)
        if not np.isfinite(profile.threshold):
            raise ProfileError("a profile threshold must be finite")
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
    """Notices new or changed profiles so a running daemon picks them up without a restart."""

    def __init__(self, store: ProfileStore, names: set[str] | None = None) -> None:
        self.store = store
        self.names = names  # None = every profile in the store
        self.seen: dict[str, int] = {}

    def poll(self) -> tuple[list[Profile], list[str]]:
        """-> (profiles that are new or have a newer version, names whose load failed)."""
        changed, failed = [], []
        for name in self.store.names():
            if self.names is not None and name not in self.names:
                continue
            latest = self.store.latest_version(name)
            if latest is None or self.seen.get(name) == latest:
                continue
            try:
                changed.append(self.store.load(name, latest))
            except ProfileError:
                failed.append(name)
            self.seen[name] = latest
        return changed, failed
