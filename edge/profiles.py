"""Behaviour profiles: the support embeddings and threshold that define "normal", versioned on disk.

Layout: ``<profiles_dir>/<name>/v0001.npz`` + ``v0001.json``; the highest version is current. A
profile keeps the normalised support windows it was built from, so a daemon running a different
encoder can re-embed them instead of scoring against embeddings from another model.

Normal is several things: a profile holds one or more *behaviours* (walking, sitting down, ...), and
each support row carries the id of the behaviour it shows (``behaviours`` in the npz; a profile
without it is one behaviour). ``meta["behaviours"]`` describes each id: its name, whether it was
enrolled from clips (``kind: enrolled``: it sets the threshold) or added by a reviewer marking an
alert normal (``kind: feedback``: support only), its sources and when it was added. A window's score
is its distance to the nearest behaviour's prototype (models/scoring.py).
"""

from __future__ import annotations

import fcntl
import io
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from clips.files import UNREADABLE_NUMPY
from models.files import atomic_write
from models.preprocess import WindowSpec
from models.skeleton import NUM_JOINTS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # of profiles and behaviours
_NAME = re.compile(NAME_PATTERN)
_VERSION = re.compile(r"^v(\d{4,})\.npz$")
# Profile files are readable by every user of the host, as a checked-out profile is (not secrets).
FILE_MODE = 0o644
ENROLLED, FEEDBACK = "enrolled", "feedback"
DEFAULT_BEHAVIOUR = "normal"  # the one behaviour of a profile enrolled without naming it
# The window spec fields that decide what a support window holds (a profile records them at enrolment).
_WINDOW_CONTENT = ("frames", "fps", "root", "scale", "facing")
# What a truncated, foreign or hand-edited profile file raises inside json and numpy.
_UNREADABLE = (*UNREADABLE_NUMPY, TypeError)


class ProfileError(ValueError):
    """A profile that is missing, unreadable or inconsistent."""


class NoSuchProfile(ProfileError):
    """A profile with no version in the store: never enrolled there, or deleted. The message names
    the store's folder for an operator; ``name`` alone is for those who must not see the server's paths."""

    def __init__(self, name: str, root: Path) -> None:
        super().__init__(f"no profile named {name!r} in {root.resolve()}")
        self.name = name


@dataclass(frozen=True)
class Profile:
    """A versioned behaviour profile.

    embeddings: ``(A, D)`` float32 support embeddings (real windows and generated variants).
    groups: ``(A,)`` int, the enrolment clip each embedding comes from.
    windows: ``(A, F, J, 3)`` normalised windows behind the embeddings (float16 on disk).
    threshold: score above which a window is abnormal for this profile.
    meta: model_version, window spec, calibration details, sources, augmentation settings, ...
    calibration_windows / calibration_groups / calibration_behaviours: ``(C, F, J, 3)`` normalised
        windows, ``(C,)`` group ids and behaviour ids the threshold was calibrated on where those are
        not the support windows (an enrolled behaviour of one clip: the windows of its two halves), so
        a re-embedding calibrates the same way; None otherwise.
    behaviours: ``(A,)`` int, the behaviour each support row shows (ids of ``meta["behaviours"]``);
        None: one behaviour.
    generated: ``(A,)`` bool, rows that are generated variants (HumanMAC) rather than real windows;
        None: as the metadata of profiles from before the array says (:attr:`generated_rows`).
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
    behaviours: np.ndarray | None = None
    generated: np.ndarray | None = None
    calibration_behaviours: np.ndarray | None = None

    @property
    def model_version(self) -> str:
        return str(self.meta.get("model_version", ""))

    @property
    def behaviour_ids(self) -> np.ndarray:
        """``(A,)`` int64 behaviour id of every support row."""
        if self.behaviours is None:
            return np.zeros(len(self.embeddings), np.int64)
        return np.asarray(self.behaviours, np.int64)

    @property
    def calibration_behaviour_ids(self) -> np.ndarray:
        """``(C,)`` int64 behaviour id of every calibration row (none when there are none)."""
        if self.calibration_groups is None:
            return np.zeros(0, np.int64)
        if self.calibration_behaviours is None:
            return np.zeros(len(self.calibration_groups), np.int64)
        return np.asarray(self.calibration_behaviours, np.int64)

    @property
    def behaviour_table(self) -> list[dict[str, Any]]:
        """One entry per behaviour: ``id``, ``name``, ``kind`` (enrolled / feedback), ``sources``, ..."""
        if "behaviours" in self.meta:
            return [dict(b) for b in self.meta["behaviours"]]
        return [
            {
                "id": 0,
                "name": DEFAULT_BEHAVIOUR,
                "kind": ENROLLED,
                "sources": list(self.meta.get("sources", [])),
            }
        ]

    @property
    def single_rows(self) -> np.ndarray:
        """``(A,)`` bool: rows of feedback behaviours, each a prototype by itself (models/scoring.py)."""
        feedback = [b["id"] for b in self.behaviour_table if b.get("kind", ENROLLED) == FEEDBACK]
        return np.isin(self.behaviour_ids, feedback)

    @property
    def enrolled_rows(self) -> np.ndarray:
        """``(A,)`` bool: rows of enrolled behaviours (those calibrate the threshold)."""
        enrolled = [b["id"] for b in self.behaviour_table if b.get("kind", ENROLLED) == ENROLLED]
        return np.isin(self.behaviour_ids, enrolled)

    @property
    def generated_rows(self) -> np.ndarray:
        """``(A,)`` bool: generated variants. Profiles from before the array put an enrolment's
        variants after its real windows and recorded how many of those there were."""
        if self.generated is not None:
            return np.asarray(self.generated, bool)
        out = np.zeros(len(self.embeddings), bool)
        if "enrolled_real_windows" in self.meta:
            n_enrolled = int(self.meta.get("support_windows", len(out)))
            out[int(self.meta["enrolled_real_windows"]) : n_enrolled] = True
        elif aug := self.meta.get("augmentation"):
            out[len(out) // (1 + int(aug["n_g"])) :] = True
        return out


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


def check_behaviours(profile: Profile, what: str, *, enrolled: bool = True) -> None:
    """ProfileError unless every support row's behaviour is in the behaviour table, once each, and
    (``enrolled``) at least one behaviour is an enrolled one."""
    ids = [b.get("id") for b in profile.behaviour_table]
    if len(set(ids)) != len(ids) or not all(isinstance(i, int) for i in ids):
        raise ProfileError(f"{what}: behaviour ids must be distinct integers; got {ids}")
    rows = profile.behaviour_ids
    generated = profile.generated_rows
    if rows.shape != (len(profile.embeddings),) or generated.shape != rows.shape:
        raise ProfileError(f"{what}: behaviours or generated do not match its {len(profile.embeddings)} rows")
    if missing := sorted(set(rows.tolist()) - set(ids)):
        raise ProfileError(f"{what}: support rows of behaviour(s) {missing} that its table does not name")
    names = [b.get("name") for b in profile.behaviour_table]
    if len(set(names)) != len(names):
        raise ProfileError(f"{what}: behaviour names must be distinct; got {names}")
    cal_g, cal_b = profile.calibration_groups, profile.calibration_behaviours
    if cal_g is not None and cal_b is not None and np.shape(cal_b) != np.shape(cal_g):
        raise ProfileError(f"{what}: calibration_behaviours do not match its calibration windows")
    if enrolled and not profile.enrolled_rows.any():
        raise ProfileError(f"{what}: no enrolled behaviour (feedback alone cannot set a threshold)")


def behaviour_summary(profile: Profile) -> list[dict[str, Any]]:
    """Each behaviour of ``profile`` as the review API and ``haad profiles`` show it: its name, kind
    (enrolled, or feedback: marked normal), support windows, clips and the alerts marked normal."""
    ids = profile.behaviour_ids
    return [
        {
            "name": b["name"], "kind": b.get("kind", "enrolled"), "windows": int((ids == b["id"]).sum()),
            "sources": list(b.get("sources", [])), "alert_ids": list(b.get("alert_ids", [])),
        }
        for b in profile.behaviour_table
    ]  # fmt: skip


def check_name(name: str, what: str = "profile") -> str:
    """``name`` if it may name a profile (or ``what``: a behaviour): names are shown in pages, typed on
    the command line, and a profile's is its folder's."""
    if not _NAME.fullmatch(name):  # not match: its $ would take a trailing newline
        raise ProfileError(
            f"invalid {what} name {name!r}: use letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (at most 64 characters)"
        )
    return name


class ProfileStore:
    """Profiles in a directory; safe against readers seeing half-written files (atomic renames).

    ``overlay``: a store of camera overlays (edge/overlays.py) rather than profiles: their "profiles"
    are named after streams and hold feedback behaviours only, possibly none.
    """

    def __init__(self, root: Path, *, overlay: bool = False) -> None:
        self.root = Path(root)
        self.overlay = overlay

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

    def newest_readable(self, name: str) -> Profile | None:
        """``name``'s newest version that loads; None when none does. An unreadable newest version is
        passed over, as a running daemon passes it over (it kept serving the one before)."""
        for version in reversed(self.versions(name)):
            try:
                return self.load(name, version)
            except ProfileError:  # enrolling anew is how an unreadable version is replaced
                continue
        return None

    def load(self, name: str, version: int | None = None) -> Profile:
        """A profile version (default: the newest); ProfileError for anything unusable in it."""
        check_name(name)
        version = version if version is not None else self.latest_version(name)
        if version is None:
            raise NoSuchProfile(name, self.root)
        base = self.root / name / f"v{version:04d}"
        try:
            meta = json.loads(base.with_suffix(".json").read_text())
            with np.load(base.with_suffix(".npz"), allow_pickle=False) as d:
                emb, groups, windows = d["embeddings"], d["groups"], d["windows"]
                cal_w = d["calibration_windows"].astype(np.float32) if "calibration_windows" in d else None
                cal_g = d["calibration_groups"].astype(np.int64) if "calibration_groups" in d else None
                optional = {k: d[k] for k in ("behaviours", "generated", "calibration_behaviours") if k in d}
            threshold = float(meta["threshold"])
        except _UNREADABLE as e:
            raise ProfileError(f"profile {name} v{version} is unreadable: {type(e).__name__}: {e}") from e
        if (
            emb.ndim != 2
            or (len(emb) == 0 and not self.overlay)
            or len(groups) != len(emb)
            or not np.isfinite(emb).all()
        ):
            raise ProfileError(f"profile {name} v{version} has inconsistent or non-finite embeddings")
        if windows.ndim != 4 or len(windows) != len(emb):
            raise ProfileError(f"profile {name} v{version}: windows do not match its embeddings")
        check_threshold(threshold, f"profile {name} v{version}")
        behaviours = optional["behaviours"].astype(np.int64) if "behaviours" in optional else None
        generated = optional["generated"].astype(bool) if "generated" in optional else None
        cal_b = (
            optional["calibration_behaviours"].astype(np.int64)
            if "calibration_behaviours" in optional
            else None
        )
        profile = Profile(
            name, version, emb.astype(np.float32), groups.astype(np.int64), windows.astype(np.float32),
            threshold, meta, cal_w, cal_g, behaviours, generated, cal_b,
        )  # fmt: skip
        check_behaviours(profile, f"profile {name} v{version}", enrolled=not self.overlay)
        return profile

    def meta(self, name: str) -> dict[str, Any]:
        """The newest version's metadata alone (its JSON, none of its arrays); ProfileError as :meth:`load`."""
        check_name(name)
        version = self.latest_version(name)
        if version is None:
            raise NoSuchProfile(name, self.root)
        try:
            meta: dict[str, Any] = json.loads((self.root / name / f"v{version:04d}.json").read_text())
        except _UNREADABLE as e:
            raise ProfileError(f"profile {name} v{version} is unreadable: {type(e).__name__}: {e}") from e
        return meta

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
        """Write ``profile`` as the next version of its name; returns it with that version, its
        creation time and window count in the metadata (and its behaviour table written out).
        ProfileError, and no new version, when the files cannot be written (disk full, read-only)."""
        check_name(profile.name)
        check_threshold(profile.threshold, f"profile {profile.name}")
        check_behaviours(profile, f"profile {profile.name}", enrolled=not self.overlay)
        folder = self.root / profile.name
        version = (self.latest_version(profile.name) or 0) + 1
        meta = {
            **profile.meta,
            "threshold": profile.threshold,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "support_windows": int(len(profile.windows)),
            "behaviours": profile.behaviour_table,
        }
        meta.pop("enrolled_real_windows", None)  # the generated array says it now
        saved = replace(profile, version=version, meta=meta, behaviours=profile.behaviour_ids,
                        generated=profile.generated_rows)  # fmt: skip
        arrays: dict[str, np.ndarray] = {
            "embeddings": saved.embeddings.astype(np.float32),
            "groups": saved.groups.astype(np.int64),
            "windows": saved.windows.astype(np.float16),
            "behaviours": saved.behaviour_ids,
            "generated": saved.generated_rows,
        }
        if saved.calibration_windows is not None and saved.calibration_groups is not None:
            arrays["calibration_windows"] = saved.calibration_windows.astype(np.float16)
            arrays["calibration_groups"] = saved.calibration_groups.astype(np.int64)
            arrays["calibration_behaviours"] = (
                np.zeros(len(saved.calibration_groups), np.int64)
                if saved.calibration_behaviours is None
                else saved.calibration_behaviours.astype(np.int64)
            )
        base = folder / f"v{version:04d}"
        # Zipped in memory: a zip whose file fails midway (disk full) raises again when collected.
        npz = io.BytesIO()
        np.savez_compressed(npz, **arrays)
        text = json.dumps(saved.meta, indent=2).encode()
        try:
            folder.mkdir(parents=True, exist_ok=True)  # a camera's first overlay makes its folder here
            atomic_write(base.with_suffix(".npz"), lambda f: f.write(npz.getbuffer()), mode=FILE_MODE)
            # The JSON goes last: a version counts only once both files exist.
            atomic_write(base.with_suffix(".json"), lambda f: f.write(text), mode=FILE_MODE)
        except OSError as e:
            # Tidying only: an .npz without its JSON is no version. A file system remounted read-only
            # amid the save (ext4 does on an I/O error) refuses it, and the error to report is the save's.
            with suppress(OSError):
                base.with_suffix(".npz").unlink(missing_ok=True)
            raise ProfileError(
                f"cannot save profile {profile.name} v{version} in {folder}: {e.strerror or e}"
            ) from e
        return saved


@contextmanager
def profile_lock(profiles: ProfileStore, name: str) -> Iterator[None]:
    """Serialises read-modify-save of one profile and its overlays across processes (enrolment, review
    server, CLI). The name is checked first: the lock's folder is made, and ``../x`` would make it
    outside ``profiles_dir``."""
    folder = profiles.root / check_name(name)
    # A profiles_dir that takes no write (read-only, not a folder) is the writer's ProfileError, said
    # before it waits for the lock: every caller turns one into a message for the reviewer or operator.
    try:
        folder.mkdir(parents=True, exist_ok=True)
        f = open(folder / ".feedback.lock", "ab")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise ProfileError(f"cannot write profile {name} in {profiles.root}: {e.strerror or e}") from e
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            # A writer killed amid a save left its temporary file (models/files.py atomic_write), a
            # whole version's arrays, here or in a camera overlay's folder below; every writer of
            # either holds this lock, so none is being written now.
            for leftover in folder.rglob(".v*.tmp"):
                leftover.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


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
