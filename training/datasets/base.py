"""The clip type every dataset loader returns, and where the data lives."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_ROOT = "../shared/data"


class DataNotFoundError(FileNotFoundError):
    """A dataset's files are not where the configuration says."""


@dataclass(frozen=True)
class Clip:
    """One labelled recording in the canonical skeleton.

    joints: ``(T, 20, 3)`` float32, canonical axes (see models.skeleton), metres.
    times: ``(T,)`` float64 seconds (need not start at 0 or be uniform).
    """

    joints: np.ndarray
    times: np.ndarray
    label: str
    subject: str
    name: str


@dataclass(frozen=True)
class ClipSet:
    """A named list of clips. ``dropped`` counts source clips left out, by reason."""

    name: str
    clips: tuple[Clip, ...]
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return sorted({c.label for c in self.clips})

    @property
    def subjects(self) -> list[str]:
        return sorted({c.subject for c in self.clips})

    def select(
        self, *, subjects: Iterable[str] | None = None, labels: Iterable[str] | None = None
    ) -> ClipSet:
        """The clips whose subject and label are in the given sets (None = any)."""
        subj = None if subjects is None else set(subjects)
        lab = None if labels is None else set(labels)
        kept = tuple(
            c for c in self.clips if (subj is None or c.subject in subj) and (lab is None or c.label in lab)
        )
        return ClipSet(self.name, kept, dict(self.dropped))

    def __len__(self) -> int:
        return len(self.clips)


def resolve_data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the shared datasets live.

    Order: the explicit argument, ``$HAAD_DATA``, then ``../shared/data`` relative to the working
    directory and to the project checkout. Raises :class:`DataNotFoundError` naming what was tried.
    """
    candidates: list[Path]
    if explicit is not None:
        candidates = [Path(explicit)]
    elif os.environ.get("HAAD_DATA"):
        candidates = [Path(os.environ["HAAD_DATA"])]
    else:
        candidates = [Path.cwd() / DEFAULT_DATA_ROOT, _PROJECT_ROOT / DEFAULT_DATA_ROOT]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise DataNotFoundError(f"dataset folder not found (tried {tried}); pass --data-root or set HAAD_DATA")


def require_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataNotFoundError(f"{what} not found at {path}")
    return path


def label_counts(clips: Sequence[Clip]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in clips:
        out[c.label] = out.get(c.label, 0) + 1
    return dict(sorted(out.items()))
