"""The clip type: one recording in the canonical skeleton, and a named set of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)  # eq=False: array fields
class Clip:
    """One recording in the canonical skeleton (models.skeleton).

    joints: ``(T, 20, 3)`` float32, canonical axes, metres; NaN marks a joint that was not measured.
    times: ``(T,)`` float64 seconds (need not start at 0 or be uniform).
    label: the behaviour or action it shows ("" when unknown). subject: who performs it.
    name: an identifier unique within its set.
    frame_labels: ``(T,)`` str, what each frame shows, for a continuous recording whose actions
        change ("" = not annotated); None when the clip carries one label.
    view: which camera recorded it, when one action was filmed from several ("" = one camera);
        the few-shot benchmark then enrols from one view and scores another.
    visibility: ``(T, 20)`` float32 in [0, 1], each joint's visibility where the file gives
        MediaPipe's (a replay sends it, for the worker to judge); None when it gives none.
    """

    joints: np.ndarray
    times: np.ndarray
    label: str = ""
    subject: str = ""
    name: str = ""
    frame_labels: np.ndarray | None = None
    view: str = ""
    visibility: np.ndarray | None = None

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self.times) else 0.0


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

    @property
    def views(self) -> list[str]:
        """The cameras the clips were recorded from (empty for a one-camera set)."""
        return sorted({c.view for c in self.clips} - {""})

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
