"""Scratch: do the encoder's near twins (K = 1 pair AUC < 0.6 in runs/h21/fewshot/D-k1/pairs.json)
come apart in the windows' raw DCT coefficients, and more so with more of them (the encoder keeps
``dct_m`` = 10 of 60 frames)? K = 1 protocol, prototype rule, 10 seeds: the twins' mean pair AUC
and the all-category AUC for each feature.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/twins_in_raw_dct.py kinder-gator
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import cached, mean_auc, say  # noqa: E402

from evaluation.fewshot import evaluate_dataset, raw_dct_features  # noqa: E402
from models.embedding import embed_all  # noqa: E402


def main() -> None:
    for ds in sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla"]:
        tw, emb = cached(ds)
        pairs = json.loads(Path(f"runs/h21/fewshot/{ds}-k1/pairs.json").read_text())["encoder"]
        twins = [(c, d) for c, row in pairs.items() for d, auc in row.items() if auc < 0.6]
        feats = {"encoder": emb}
        for m in (10, 20, 30):
            raw = embed_all(raw_dct_features(m), tw.windows)
            feats[f"raw DCT, {m} coefficients"] = (
                raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-8)
            ).astype(np.float32)
        for name, e in feats.items():
            r, _ = evaluate_dataset(tw, e, shots=3, seeds=10, behaviours=1)
            means = r.pair_means()
            twin_auc = np.mean([means[c][d] for c, d in twins])
            say(
                f"{ds:14s} {name:26s} all {mean_auc(r):.4f}  the encoder's {len(twins)} twin pairs {twin_auc:.3f}"
            )


if __name__ == "__main__":
    main()
