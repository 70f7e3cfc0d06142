"""Scratch: behaviour-consistent scoring over a clip's windows vs the per-window prototype rule.

Embeddings of each dataset's evaluation windows (bundled encoder) are cached under .cache/h21/;
every rule runs through evaluation.fewshot.evaluate_dataset (full protocol, 10 seeds, cross-view on
NW-UCLA). A clip-level rule is a per-window rule that knows each window's clip (``tw.clip_of``):
it returns per-window scores whose clip mean is the rule's clip score.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python docs/experiments/2026-12-06-several-behaviours-2/consistent_rules.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from evaluation.fewshot import eval_windows, evaluate_dataset
from models.embedding import embed_all
from models.encoder import DEFAULT_ENCODER_PATH, encoder_embed_fn, load_encoder
from models.scoring import behaviour_prototypes, pairwise_distances
from training.datasets import load_dataset
from training.protocol import split_for

CACHE = Path(".cache/h21")


def cached(dataset: str):
    encoder, spec, meta = load_encoder(Path(DEFAULT_ENCODER_PATH))
    clipset = load_dataset(dataset, None)
    split = split_for(clipset.name, clipset.subjects, clipset.labels)
    tw = eval_windows(clipset, split, spec)
    path = CACHE / f"{dataset}.npy"
    if path.exists():
        emb = np.load(path)
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        emb = embed_all(encoder_embed_fn(encoder), tw.windows)
        np.save(path, emb)
    return tw, emb


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def mean_auc(result) -> float:
    """The summary's ``all``: mean over categories of the mean over draws."""
    return float(np.mean([np.mean(v) for v in result.per_category.values()]))


def per_behaviour(queries, support, behaviours):
    protos, ids = behaviour_prototypes(support, behaviours)
    return pairwise_distances(queries, protos)  # (W, P)


def clip_rule(clip_of: np.ndarray, mode: str, tau: float = 0.05):
    starts = np.flatnonzero(np.r_[True, clip_of[1:] != clip_of[:-1]])
    ends = np.r_[starts[1:], len(clip_of)]

    def rule(queries, support, behaviours, groups):
        d = per_behaviour(queries, support, behaviours)
        out = np.empty(len(d), np.float32)
        for s, e in zip(starts, ends, strict=True):
            dd = d[s:e]
            m = dd.mean(0)
            if mode == "consistent":
                out[s:e] = dd[:, m.argmin()]
            elif mode == "soft":
                w = np.exp(-(m - m.min()) / tau)
                w /= w.sum()
                out[s:e] = dd @ w
            elif mode == "blend":
                out[s:e] = 0.5 * dd[:, m.argmin()] + 0.5 * dd.min(1)
            elif mode == "centroid":  # the clip's mean embedding against each prototype
                protos = behaviour_prototypes(support, behaviours)[0]
                out[s:e] = pairwise_distances(queries[s:e].mean(0, keepdims=True), protos).min()
            elif mode == "squared":  # min_b mean_w d(w, b)^2
                out[s:e] = dd[:, (dd**2).mean(0).argmin()] ** 2
            elif mode == "maxwin":  # clip score = min_b max_w d: the worst window under one behaviour
                b = dd.max(0).argmin()
                out[s:e] = dd[:, b].max()
            else:
                raise ValueError(mode)
        return out

    return rule


def window_proto(queries, support, behaviours, groups):
    return per_behaviour(queries, support, behaviours).min(1)


def main() -> None:
    datasets = sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla", "utkinect"]
    for ds in datasets:
        tw, emb = cached(ds)
        n = np.bincount(tw.clip_of)
        say(f"{ds}: {len(n)} clips, windows a clip median {np.median(n):g} mean {n.mean():.2f}, "
            f"{(n == 1).mean():.0%} of one window")  # fmt: skip
        rules = {
            "prototype": window_proto,
            "consistent": clip_rule(tw.clip_of, "consistent"),
            "soft-0.02": clip_rule(tw.clip_of, "soft", 0.02),
            "soft-0.1": clip_rule(tw.clip_of, "soft", 0.1),
            "blend": clip_rule(tw.clip_of, "blend"),
            "maxwin": clip_rule(tw.clip_of, "maxwin"),
            "centroid": clip_rule(tw.clip_of, "centroid"),
            "squared": clip_rule(tw.clip_of, "squared"),
        }
        for k in (1, 3):
            for name, rule in rules.items():
                if k == 1 and name not in ("prototype", "consistent", "centroid", "squared"):
                    continue
                r, _ = evaluate_dataset(tw, emb, shots=3, seeds=10, behaviours=k, rule=rule)
                say(f"{ds:14s} K={k} {name:12s} {mean_auc(r):.4f}")


if __name__ == "__main__":
    main()
