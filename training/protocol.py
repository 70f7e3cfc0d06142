"""The project's benchmark splits (docs/training.md): who trains, who is tested, what is unseen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from training.datasets.msr_action3d import action_label


@dataclass(frozen=True)
class Split:
    """Cross-subject split of one dataset.

    train_subjects: clips used to train models (never test subjects).
    test_subjects: clips used for few-shot evaluation (support and query).
    unseen_labels: categories never shown to any model during training.
    """

    dataset: str
    train_subjects: frozenset[str]
    test_subjects: frozenset[str]
    unseen_labels: frozenset[str]


KINDER_GATOR = Split(
    dataset="kinder-gator",
    train_subjects=frozenset(
        str(p) for p in (565, 577, 604, 734, 876, 888, 921, 103, 106, 169, 290, 337, 342, 474)
    ),
    test_subjects=frozenset(str(p) for p in (934, 970, 976, 595, 644, 723)),
    unseen_labels=frozenset(
        {
            "Jump",
            "Punch",
            "Swim",
            "Bow",
            "Draw-a-circle",
            "Kick-a-ball",
            "Throw-a-ball-",
            "Make-the-letter-T",
            "Walk-in-place",
            "Touch-your-toes",
            "Fly-like-a-bird",
            "Do-a-forward-lunge",
        }
    ),  # fmt: skip
)

MSR = Split(
    dataset="msr",
    train_subjects=frozenset(str(s) for s in range(1, 7)),
    test_subjects=frozenset(str(s) for s in range(7, 11)),
    unseen_labels=frozenset(action_label(a) for a in (3, 8, 13, 16, 20)),
)

# Cross-dataset: nothing of UTKinect is ever trained on; every subject is a test subject.
UTKINECT = Split(
    dataset="utkinect",
    train_subjects=frozenset(),
    test_subjects=frozenset(str(s) for s in range(1, 11)),
    unseen_labels=frozenset(
        {"walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands"}
    ),
)

# Cross-view (docs/benchmark.md): test people are never trained on; support clips come from one
# camera and queries from another. Three actions are never trained on, one of each look-alike pair.
NW_UCLA = Split(
    dataset="nw-ucla",
    train_subjects=frozenset(f"s{s:02d}" for s in range(1, 7)),
    test_subjects=frozenset(f"s{s:02d}" for s in range(7, 11)),
    unseen_labels=frozenset({"drop_trash", "doffing", "pick_up_with_two_hands"}),
)

SPLITS = {s.dataset: s for s in (KINDER_GATOR, MSR, UTKINECT, NW_UCLA)}


def split_for(dataset: str, subjects: list[str], labels: list[str]) -> Split:
    """The named benchmark split, or for a user's clip-set file: every subject tested, all unseen.
    ``dataset`` as it was given: a file's path is never a benchmark, whatever the file is called."""
    if dataset in SPLITS:
        return SPLITS[dataset]
    return Split(dataset, frozenset(), frozenset(subjects), frozenset(labels))


def training_split(dataset: str, subjects: Iterable[str]) -> Split:
    """The named benchmark split, or for a user's clip-set file: every subject trained on, nothing
    held out (its figures come from other people's clips: ``haad eval fewshot``)."""
    if dataset in SPLITS:
        return SPLITS[dataset]
    return Split(dataset, frozenset(subjects), frozenset(), frozenset())
