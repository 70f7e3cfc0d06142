"""Experiment (issues 21, 24): does enrolling each support window with geometric variants of itself
(mirror image, camera tilt) help few-shot scoring of other people at K = 1 and K = 3?

    python docs/experiments/2026-12-06-enrolment-variants/variants.py [DATASET ...]

Each variant set is embedded once per dataset; the protocol is `haad eval fewshot`'s
(evaluation.fewshot.evaluate_dataset, 10 seeds, 3 shots, the product's prototype rule), the variants
joining the support exactly as HumanMAC completions do (`variant_embeddings`).
"""

from __future__ import annotations

import sys

import numpy as np

from evaluation.fewshot import eval_windows, evaluate_dataset
from models.embedding import embed_all, embed_variants
from models.encoder import DEFAULT_ENCODER_PATH, encoder_embed_fn, load_encoder
from models.skeleton import mirror
from training.datasets import load_dataset
from training.protocol import split_for
from training.windows import tilt


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


DATASETS = sys.argv[1:] or ["kinder-gator", "msr", "nw-ucla", "utkinect"]
encoder, spec, _ = load_encoder(DEFAULT_ENCODER_PATH)
fn = encoder_embed_fn(encoder)


def variant_sets(w: np.ndarray) -> dict[str, list[np.ndarray]]:
    n = len(w)
    pitch = np.deg2rad(10.0) * np.stack([np.ones(n), np.zeros(n)])  # pitch, no roll
    up, down = tilt(w, pitch), tilt(w, -pitch)
    m = mirror(w)
    return {"mirror": [m], "tilt ±10°": [up, down], "mirror + tilt ±10°": [m, up, down]}


for d in DATASETS:
    clipset = load_dataset(d, None)
    split = split_for(clipset.name, clipset.subjects, clipset.labels)
    tw = eval_windows(clipset, split, spec)
    emb = embed_all(fn, tw.windows)
    rows = {"none": None}
    for name, parts in variant_sets(tw.windows).items():
        rows[name] = embed_variants(fn, np.stack(parts, axis=1))
    for name, var in rows.items():
        out = []
        for k in (1, 3):
            r, _ = evaluate_dataset(tw, emb, shots=3, seeds=10, variant_embeddings=var, behaviours=k)
            out.append(float(np.mean([np.mean(v) for v in r.per_category.values()])))
        say(f"{d:14s} {name:20s} K=1 {out[0]:.4f}  K=3 {out[1]:.4f}", flush=True)
