"""Issue 24 (4): per-moment rules on the cached replays (replay_cache.py), frame AUC per set.

A rule turns a stream's spans (windows ``W``, 1 s crops ``C``, 0.5 s crops ``H``, each scorer's
ratio to its threshold) into a score per frame (20 fps grid, as ``haad eval stream``); the figure
is the per-stream mean frame AUC over abnormal and normal frames (``haad eval stream``'s).

    python docs/experiments/2026-12-06-say-when-4/rules.py [SET ...]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import numpy as np
from replay_cache import CACHE, cached

from evaluation.fewshot import roc_auc
from evaluation.stream import _inside

FPS = 20.0
SETS = (
    "kinder-gator-dense", "msr-dense", "nw-ucla-dense",
    "kinder-gator", "kinder-gator-short", "kinder-gator-short-gaps", "utkinect",
)  # fmt: skip


def kernel_mean(grid: np.ndarray, spans: np.ndarray, kind: str = "box") -> np.ndarray:
    """Each frame's weighted mean of the spans covering it; ``box``: plain mean, ``tri``: weight
    falling linearly from the span's centre to 0 at its ends, ``gauss``: sigma a quarter span."""
    t0, t1, s = spans[:, 0][None], spans[:, 1][None], spans[:, 2][None]
    g = grid[:, None]
    inside = (g >= t0) & (g <= t1)
    half = np.maximum((t1 - t0) / 2, 1e-6)
    d = np.abs(g - (t0 + t1) / 2) / half  # 0 at the centre, 1 at either end
    if kind == "box":
        w = inside * 1.0
    elif kind == "tri":
        w = inside * np.maximum(1.0 - d, 0.05)  # ends keep a little weight so no covered frame is lost
    elif kind == "gauss":
        w = inside * np.exp(-0.5 * (d * 2) ** 2)
    else:
        raise ValueError(kind)
    tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (w * s).sum(axis=1) / tot, np.nan)


def geo(*xs: np.ndarray, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """Weighted geometric mean of the terms that are finite at each frame (the windows' always are)."""
    weights = weights or tuple(1.0 for _ in xs)
    num = np.zeros_like(xs[0])
    den = np.zeros_like(xs[0])
    for x, w in zip(xs, weights, strict=True):
        ok = np.isfinite(x)
        num = num + np.where(ok, w * np.log(np.maximum(np.where(ok, x, 1.0), 1e-6)), 0.0)
        den = den + np.where(ok, w, 0.0)
    return np.exp(num / np.maximum(den, 1e-9))


Rule = Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], np.ndarray]


def frames(dataset: str) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """Per stream: every span kind's kernel means on the frame grid (with ``grid``, ``ab``, ``no``),
    and the cached row; the means are cached beside the replays."""
    rows = cached(dataset)
    path = CACHE / f"{dataset}.frames.npz"
    if path.exists():
        z = np.load(path)
        covs = [
            {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(f"{i}/")} for i in range(len(rows))
        ]
        return list(zip(covs, rows, strict=True))
    covs = []
    for row in rows:
        w = row["We"]
        grid = np.arange(w[:, 0].min(), w[:, 1].max(), 1 / FPS)
        cov = {
            f"{k}:{kind}": kernel_mean(grid, row[k], kind)
            for k in ("We", "Ce", "He", "Wr", "Cr", "Hr")
            for kind in ("box", "tri", "gauss")
            if len(row[k])
        }
        cov["grid"] = grid
        cov["ab"] = _inside(grid, [tuple(x) for x in row["abnormal"]])
        cov["no"] = _inside(grid, [tuple(x) for x in row["normal"]])
        covs.append(cov)
    np.savez(path, **{f"{i}/{k}": v for i, c in enumerate(covs) for k, v in c.items()})
    return list(zip(covs, rows, strict=True))


def evaluate(dataset: str, rules: dict[str, Rule]) -> dict[str, float]:
    aucs: dict[str, list[float]] = {}
    for cov, row in frames(dataset):
        ab, no = cov["ab"], cov["no"]
        for name, rule in rules.items():
            s = rule(cov, row)
            ok = (ab | no) & np.isfinite(s)
            if ab[ok].any() and no[ok].any():
                aucs.setdefault(name, []).append(roc_auc(s[ok], ab[ok]))
    return {k: round(float(np.mean(v)), 4) for k, v in aucs.items()}


def base_rules() -> dict[str, Rule]:
    r: dict[str, Rule] = {}
    for kind in ("box", "tri", "gauss"):
        r[f"geo W,C {kind}"] = lambda c, row, k=kind: geo(c[f"We:{k}"], c[f"Ce:{k}"])
        r[f"raw geo W,C {kind}"] = lambda c, row, k=kind: geo(c[f"Wr:{k}"], c[f"Cr:{k}"])
        r[f"geo W,C,H {kind}"] = lambda c, row, k=kind: geo(c[f"We:{k}"], c[f"Ce:{k}"], c[f"He:{k}"])
        r[f"raw geo W,C,H {kind}"] = lambda c, row, k=kind: geo(c[f"Wr:{k}"], c[f"Cr:{k}"], c[f"Hr:{k}"])
    for kind in ("box", "tri"):  # each scorer's crops alone (the windows' before the first crop)
        for m in ("e", "r"):
            r[f"C{m} alone {kind}"] = lambda c, row, k=kind, m=m: np.where(
                np.isfinite(c[f"C{m}:{k}"]), c[f"C{m}:{k}"], c[f"W{m}:{k}"]
            )
    r["geo W box,C tri"] = lambda c, row: geo(c["We:box"], c["Ce:tri"])
    r["geo W tri,C box"] = lambda c, row: geo(c["We:tri"], c["Ce:box"])
    r["geo W,H box"] = lambda c, row: geo(c["We:box"], c["He:box"])
    return r


if __name__ == "__main__":
    for name in sys.argv[1:] or SETS:
        sys.stdout.write(json.dumps({"set": name, **evaluate(name, base_rules())}) + "\n")
