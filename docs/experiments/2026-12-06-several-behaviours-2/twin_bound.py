"""Scratch: how much of the K = 3 loss the near twins carry. Prototype rule, full protocol (10 seeds),
except that an abnormal clip whose category is a *twin* of one of the draw's normal categories (pair
AUC below ``t`` in today's K = 1 protocol, from ``haad eval fewshot --behaviours 1``'s pairs.json)
gets an infinite score: the K = 3 figure an encoder would reach if it told those pairs apart and
nothing else changed.

    haad eval fewshot --dataset D --out runs/h21/fewshot/D-k1     # pairs.json of K = 1
    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/twin_bound.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import cached, mean_auc, say, window_proto  # noqa: E402

from evaluation.fewshot import evaluate_dataset  # noqa: E402
from evaluation.scoring_rules import Rule  # noqa: E402


def twin_rule(labels: np.ndarray, clip_of: np.ndarray, pairs: dict[str, dict[str, float]], t: float) -> Rule:
    window_label = labels[clip_of]

    def rule(queries, support, behaviours, groups):
        scores = window_proto(queries, support, behaviours, groups)
        normal = {labels[g] for g in np.unique(groups)}
        twins = {d for c in normal for d, auc in pairs.get(c, {}).items() if auc < t} - normal
        return np.where(np.isin(window_label, list(twins)), np.inf, scores)

    return rule


def main() -> None:
    for ds in sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla", "utkinect"]:
        tw, emb = cached(ds)
        pairs = json.loads(Path(f"runs/h21/fewshot/{ds}-k1/pairs.json").read_text())["encoder"]
        flat = np.array([v for row in pairs.values() for v in row.values()])
        for t in (0.6, 0.7, 0.8):
            rule = twin_rule(np.array(tw.labels), tw.clip_of, pairs, t)
            r, _ = evaluate_dataset(tw, emb, shots=3, seeds=10, behaviours=3, rule=rule)
            say(f"{ds:14s} K=3 twins (K=1 pair AUC < {t}: {(flat < t).mean():.1%} of pairs) "
                f"separated: {mean_auc(r):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
