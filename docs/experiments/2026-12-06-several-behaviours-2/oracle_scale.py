"""Scratch, a bound no profile can reach: each behaviour's window distances standardised by the mean
and std of the *held-out* clips of its own category (their clip scores against its prototype), a
window's score the smallest standardised distance. If this does not reach the bar, no per-behaviour
calibration of the prototype distance will. Full protocol, 10 seeds, K = 3.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/oracle_scale.py
"""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import cached, mean_auc, per_behaviour, say  # noqa: E402

from evaluation.fewshot import EvalWindows, evaluate_dataset  # noqa: E402
from evaluation.scoring_rules import Rule  # noqa: E402


def oracle(tw: EvalWindows, std: bool) -> Rule:
    labels = np.array(tw.labels)
    clip_lab = labels[tw.clip_of]

    def rule(queries, support, behaviours, groups):
        d = per_behaviour(queries, support, behaviours)  # (W, K), columns in behaviour id order
        held = ~np.isin(tw.clip_of, groups)
        for b in np.unique(behaviours):
            cat = labels[groups[behaviours == b][0]]
            rows = held & (clip_lab == cat)
            clip_scores = np.array(
                [d[rows & (tw.clip_of == c), b].mean() for c in np.unique(tw.clip_of[rows])]
            )
            d[:, b] = (d[:, b] - clip_scores.mean()) / (clip_scores.std() + 1e-6 if std else 1.0)
        return d.min(1)

    return rule


def main() -> None:
    for ds in sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla", "utkinect"]:
        tw, emb = cached(ds)
        for name, std in (("held-out mean", False), ("held-out mean and std", True)):
            r, _ = evaluate_dataset(tw, emb, shots=3, seeds=10, behaviours=3, rule=oracle(tw, std))
            say(f"{ds:14s} K=3 oracle {name:24s} {mean_auc(r):.4f}")


if __name__ == "__main__":
    main()
