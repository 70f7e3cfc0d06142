"""Scratch: other read-outs of the bundled encoder's joint features (before its max-pool over joints)
scored with the prototype rule, full protocol (evaluation.fewshot.evaluate_dataset, 10 seeds).

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/pooled_features.py kinder-gator
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
from models.encoder import DEFAULT_ENCODER_PATH, load_encoder  # noqa: E402
from training.datasets import load_dataset  # noqa: E402
from training.protocol import split_for  # noqa: E402

CACHE = Path(".cache/h21")


def joint_features(encoder, windows: np.ndarray, chunk: int = 512) -> np.ndarray:
    """``(N, F, J, 3)`` -> ``(N, members, J, hidden)``: each member's features before the pool."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(windows), chunk):
            w = torch.from_numpy(np.ascontiguousarray(windows[i : i + chunk], dtype=np.float32))
            hs = []
            for m in encoder.members:
                x = m.dct_features(w)
                b, j, _ = x.shape
                h = m.gc_in(x)
                h = torch.tanh(m.bn_in(h.reshape(b, -1)).reshape(b, j, -1))
                hs.append(m.blocks(h))
            out.append(torch.stack(hs, 1).numpy())
    return np.concatenate(out)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def readouts(h: np.ndarray) -> dict[str, np.ndarray]:
    n, m = h.shape[:2]
    mx, mean = h.max(2), h.mean(2)
    return {
        "max (today)": unit(mx).reshape(n, -1) / np.sqrt(m),
        "mean": unit(mean).reshape(n, -1) / np.sqrt(m),
        "max+mean": unit(np.concatenate([unit(mx), unit(mean)], -1)).reshape(n, -1) / np.sqrt(m),
        "per-joint": unit(unit(h).reshape(n, m, -1)).reshape(n, -1) / np.sqrt(m),
        "max+0.5 per-joint": unit(
            np.concatenate([unit(mx), 0.5 * unit(unit(h).reshape(n, m, -1))], -1)
        ).reshape(n, -1)
        / np.sqrt(m),
    }


def main() -> None:
    encoder, spec, _ = load_encoder(Path(DEFAULT_ENCODER_PATH))
    for ds in sys.argv[1:]:
        clipset = load_dataset(ds, None)
        split = split_for(clipset.name, clipset.subjects, clipset.labels)
        tw = eval_windows(clipset, split, spec)
        path = CACHE / f"{ds}-joints.npy"
        if path.exists():
            h = np.load(path)
        else:
            CACHE.mkdir(parents=True, exist_ok=True)
            h = joint_features(encoder, tw.windows)
            np.save(path, h)
        for name, emb in readouts(h).items():
            for k in (1, 3):
                r, _ = evaluate_dataset(tw, emb.astype(np.float32), shots=3, seeds=10, behaviours=k,
                                        rule=RULES["prototype"])  # fmt: skip
                say(f"{ds:14s} K={k} {name:20s} {mean_auc(r):.4f}")


if __name__ == "__main__":
    main()
