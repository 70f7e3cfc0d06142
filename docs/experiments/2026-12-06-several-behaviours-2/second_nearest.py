"""Scratch: the nearest behaviour's distance corrected by the other behaviours' (a window near every
prototype, a hub, is pulled down less): d1 - lam * d2 and d1 / d2 (d2: the second-nearest prototype,
or the mean over the others), full protocol at K = 3 (K = 1 is today's rule by construction: there
is no second behaviour).

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/second_nearest.py
"""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import cached, mean_auc, per_behaviour, say  # noqa: E402

from evaluation.fewshot import evaluate_dataset  # noqa: E402
from evaluation.scoring_rules import Rule  # noqa: E402


def corrected(kind: str, lam: float = 0.0) -> Rule:
    def rule(queries, support, behaviours, groups):
        d = np.sort(per_behaviour(queries, support, behaviours), axis=1)
        d1 = d[:, 0]
        other = d[:, 1] if kind.startswith("second") else d[:, 1:].mean(1)
        return d1 / other if kind.endswith("ratio") else d1 - lam * other

    return rule


def main() -> None:
    rules = {
        "second, lam 0.25": corrected("second", 0.25),
        "second, lam 0.5": corrected("second", 0.5),
        "second, ratio": corrected("second-ratio"),
        "others' mean, lam 0.25": corrected("mean", 0.25),
        "others' mean, lam 0.5": corrected("mean", 0.5),
        "others' mean, ratio": corrected("mean-ratio"),
    }
    for ds in sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla", "utkinect"]:
        tw, emb = cached(ds)
        for name, rule in rules.items():
            r, _ = evaluate_dataset(tw, emb, shots=3, seeds=10, behaviours=3, rule=rule)
            say(f"{ds:14s} K=3 {name:24s} {mean_auc(r):.4f}")


if __name__ == "__main__":
    main()
