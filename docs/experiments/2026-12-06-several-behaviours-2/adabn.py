"""Scratch: the encoder's batch-norm statistics re-estimated on the evaluation windows themselves
(AdaBN; transductive: every test window of the set, the most a camera's own recent windows could
give), then the prototype rule, full protocol (10 seeds).

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/adabn.py kinder-gator
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import mean_auc, say  # noqa: E402

from evaluation.fewshot import eval_windows, evaluate_dataset  # noqa: E402
from evaluation.scoring_rules import RULES  # noqa: E402
from models.embedding import embed_all  # noqa: E402
from models.encoder import DEFAULT_ENCODER_PATH, encoder_embed_fn, load_encoder  # noqa: E402
from training.datasets import load_dataset  # noqa: E402
from training.protocol import split_for  # noqa: E402


def adapt(encoder: torch.nn.Module, windows: np.ndarray) -> None:
    bns = [m for m in encoder.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over every batch
        bn.train()
    with torch.no_grad():
        for i in range(0, len(windows), 512):
            encoder(torch.from_numpy(np.ascontiguousarray(windows[i : i + 512], dtype=np.float32)))
    encoder.eval()


def main() -> None:
    for ds in sys.argv[1:]:
        encoder, spec, _ = load_encoder(Path(DEFAULT_ENCODER_PATH))
        clipset = load_dataset(ds, None)
        split = split_for(clipset.name, clipset.subjects, clipset.labels)
        tw = eval_windows(clipset, split, spec)
        adapt(encoder, tw.windows)
        emb = embed_all(encoder_embed_fn(encoder), tw.windows)
        for k in (1, 3):
            r, _ = evaluate_dataset(tw, emb, shots=3, seeds=10, behaviours=k, rule=RULES["prototype"])
            say(f"{ds:14s} K={k} AdaBN on the test windows {mean_auc(r):.4f}")


if __name__ == "__main__":
    main()
