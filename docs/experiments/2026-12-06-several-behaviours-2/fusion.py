"""Scratch: the bundled encoder's embedding joined with other views of the same windows, prototype
rule, full protocol (evaluation.fewshot.evaluate_dataset, 10 seeds):

* ``+ raw-dct x b``: the encoder's embedding and the windows' unit-length low DCT coefficients
  (the ``raw-dct`` baseline's features) weighted b, concatenated;
* ``member max``: each of the two members' distance to the nearest prototype, the larger (today:
  the root mean square of the two, through the concatenation).

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/fusion.py kinder-gator
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "docs/experiments/2026-12-06-several-behaviours-2")
from consistent_rules import cached, mean_auc, say  # noqa: E402

from evaluation.fewshot import evaluate_dataset, raw_dct_features  # noqa: E402
from evaluation.scoring_rules import RULES  # noqa: E402
from models.embedding import embed_all  # noqa: E402
from models.encoder import DEFAULT_ENCODER_PATH, load_encoder  # noqa: E402
from models.scoring import behaviour_prototypes, pairwise_distances  # noqa: E402


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def member_max(queries, support, behaviours, groups):
    half = queries.shape[1] // 2
    out = []
    for sl in (slice(0, half), slice(half, None)):
        protos = behaviour_prototypes(support[:, sl], behaviours)[0]
        out.append(pairwise_distances(queries[:, sl], protos).min(1))
    return np.maximum(*out)


def main() -> None:
    _, _, meta = load_encoder(Path(DEFAULT_ENCODER_PATH))
    for ds in sys.argv[1:]:
        tw, emb = cached(ds)
        raw = unit(embed_all(raw_dct_features(meta["encoder"]["dct_m"]), tw.windows)).astype(np.float32)
        runs = {"encoder (today)": (emb, RULES["prototype"]), "member max": (emb, member_max),
                "raw-dct alone": (raw, RULES["prototype"])}  # fmt: skip
        for b in (0.25, 0.5):
            runs[f"+ raw-dct x {b}"] = (np.concatenate([emb, b * raw], 1), RULES["prototype"])
        for name, (e, rule) in runs.items():
            for k in (1, 3):
                r, _ = evaluate_dataset(tw, e, shots=3, seeds=10, behaviours=k, rule=rule)
                say(f"{ds:14s} K={k} {name:18s} {mean_auc(r):.4f}")


if __name__ == "__main__":
    main()
