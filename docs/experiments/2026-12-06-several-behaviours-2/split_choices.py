"""Scratch: how often a clip's windows pick different nearest behaviours (prototype rule), for normal
and abnormal clips, K = 3, every draw of the protocol (one-camera sets; NW-UCLA cross-view pairs).
The behaviour-consistent rule can only change clips where they do.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/split_choices.py
"""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import cached, per_behaviour, say  # noqa: E402

from evaluation.fewshot import EvalWindows, evaluate_dataset  # noqa: E402
from evaluation.scoring_rules import Rule  # noqa: E402


def counting_rule(tw: EvalWindows, counts: dict[str, list[float]]) -> Rule:
    """The prototype rule, counting per scored clip (normal / abnormal): clips, clips whose windows
    pick different behaviours, and the rise of the clip score under the consistent rule."""
    labels = np.array(tw.labels)
    starts = np.flatnonzero(np.r_[True, tw.clip_of[1:] != tw.clip_of[:-1]])
    ends = np.r_[starts[1:], len(tw.clip_of)]

    def rule(queries, support, behaviours, groups):
        d = per_behaviour(queries, support, behaviours)
        nearest = d.argmin(1)
        support_clips = set(np.unique(groups).tolist())
        # a rule is not told the draw's normal categories: those of the support clips
        normal = {labels[g] for g in support_clips}
        for s, e in zip(starts, ends, strict=True):
            if tw.clip_of[s] in support_clips:
                continue  # support clips are not scored
            c = counts["normal" if labels[tw.clip_of[s]] in normal else "abnormal"]
            c[0] += 1
            c[1] += len(np.unique(nearest[s:e])) > 1
            c[2] += d[s:e].mean(0).min() - d[s:e].min(1).mean()
        return d.min(1)

    return rule


def main() -> None:
    for ds in sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla", "utkinect"]:
        tw, emb = cached(ds)
        counts: dict[str, list[float]] = {"normal": [0, 0, 0.0], "abnormal": [0, 0, 0.0]}
        evaluate_dataset(tw, emb, shots=3, seeds=10, behaviours=3, rule=counting_rule(tw, counts))
        for k, (n, split, rise) in counts.items():
            say(f"{ds:14s} {k:9s} clips scored {n:7.0f}  windows split over behaviours {split / n:6.1%}  "
                f"mean score rise {rise / n:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
