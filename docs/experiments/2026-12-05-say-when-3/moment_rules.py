"""Issue 24 (3): per-moment rules and a kinematic fusion at the short scale, replayed offline.

Every stream of a set is replayed through the worker's pipeline (as ``haad eval stream``) with the
encoder and with the raw-DCT scorer; for each scorer the windows' own score / threshold (before the
two scales are fused), their fused score and their 1 s crops' score / threshold are kept. A frame's
score for one kind is the mean over the spans covering it; the rules below combine them, and each
is reported as the per-stream mean frame AUC (``haad eval stream``'s figure).

    python docs/experiments/2026-12-05-say-when-3/moment_rules.py SET [--encoder PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from config.edge import EdgeConfig
from edge.backends import make_backend
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from evaluation.fewshot import roc_auc
from evaluation.stream import _covering_mean, _inside, replay
from evaluation.stream_sets import STREAM_SETS


class Recording(Pipeline):
    """The worker's pipeline, keeping each window's full-scale score / threshold before fusion."""

    def __init__(self, *a: object, **k: object) -> None:
        super().__init__(*a, **k)  # type: ignore[arg-type]
        self.pure: list[float] = []

    def _with_short_scale(self, scores, crop_embeddings, streams):  # type: ignore[no-untyped-def]
        assert self.scorer is not None
        self.pure += list(scores[:, 0] / self.scorer.thresholds[0])
        return super()._with_short_scale(scores, crop_embeddings, streams)


def spans(dataset: str, encoder: str | None) -> list[dict[str, np.ndarray]]:
    cfg = EdgeConfig()
    backend = make_backend(
        cfg.worker.backend, Path(encoder or cfg.encoder) if (encoder or cfg.encoder) else None
    )
    scorers = {"e": backend, "r": RawDctBackend(backend.spec)}
    out = []
    streams = STREAM_SETS[dataset](None)
    profiles: dict[tuple[str, object], object] = {}
    for stream in streams:
        row: dict[str, np.ndarray] = {}
        for m, scorer in scorers.items():
            key = (m, stream.normal_label, *(c.name for c in stream.support))
            if key not in profiles:
                profiles[key] = build_profile("eval", stream.support, scorer, calibration=cfg.worker.calibration,
                                              min_segment_s=cfg.worker.min_segment_s)  # fmt: skip
            made: list[Recording] = []

            def make(*a: object, **k: object) -> Pipeline:
                made.append(Recording(*a, **k))  # noqa: B023
                return made[-1]  # noqa: B023

            run = replay(stream, profiles[key], scorer, cfg.worker, make)  # type: ignore[arg-type]
            w = np.array(run.windows)
            row[f"W{m}"] = np.column_stack([w[:, :2], made[0].pure])  # full scale alone
            row[f"F{m}"] = w  # fused (what the eval stores)
            row[f"C{m}"] = np.array(run.crops)
        row["abnormal"], row["normal"] = np.array(stream.abnormal), np.array(stream.normal)
        out.append(row)
    return out


def geo(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(b), a, np.sqrt(np.maximum(a, 0) * np.maximum(b, 0)))


def rules(row: dict[str, np.ndarray], fps: float) -> dict[str, np.ndarray]:
    grid = np.arange(row["We"][:, 0].min(), row["We"][:, 1].max(), 1 / fps)
    cov = {k: _covering_mean(grid, row[k]) for k in ("We", "Fe", "Ce", "Wr", "Fr", "Cr")}
    ce, cr = cov["Ce"], cov["Cr"]
    out = {
        "product (geo F,C)": geo(cov["Fe"], ce),
        "raw-dct (geo F,C)": geo(cov["Fr"], cr),
        "geo W,C": geo(cov["We"], ce),
        "crops": np.where(np.isnan(ce), cov["Fe"], ce),
        "raw crops": np.where(np.isnan(cr), cov["Fr"], cr),
    }
    for name, c in (("mean", (ce + cr) / 2), ("max", np.fmax(ce, cr)), ("geo", np.sqrt(ce * cr))):
        out[f"crops {name}(e,r)"] = np.where(np.isnan(c), cov["Fe"], c)
        out[f"geo F, {name}(e,r)"] = geo(cov["Fe"], c)
    mid = _centred(grid, row["Ce"])
    out["crops centre"] = np.where(np.isnan(mid), cov["Fe"], mid)
    out["geo W, crops centre"] = geo(cov["We"], mid)
    out["geo W, max(e,r)"] = geo(cov["We"], np.fmax(ce, cr))
    first = np.flatnonzero(np.isfinite(ce))
    if len(first):  # frames before the first crop: its score (as if every crop of the first window)
        filled = ce.copy()
        filled[: first[0]] = ce[first[0]]
        out["geo W,C filled"] = geo(cov["We"], filled)
    for k in (1.25, 1.5):  # the kinematic ratio against a higher bar
        out[f"geo W, max(e,r/{k:g})"] = geo(cov["We"], np.fmax(ce, cr / k))
    out["W^0.25 max(e,r)^0.75"] = np.where(
        np.isnan(ce), cov["We"], cov["We"] ** 0.25 * np.fmax(ce, cr) ** 0.75
    )
    for w in (0.25, 0.5, 0.75):
        out[f"W^{w:g} C^{1 - w:g}"] = np.where(
            np.isnan(ce), cov["We"], cov["We"] ** w * np.maximum(ce, 0) ** (1 - w)
        )
    return {k: v for k, v in out.items()} | {"_grid": grid}


def _centred(grid: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The score of the span centred nearest each frame (NaN outside every span)."""
    mid = (w[:, 0] + w[:, 1]) / 2
    k = np.abs(grid[:, None] - mid[None, :]).argmin(axis=1)
    return np.where((w[k, 0] <= grid) & (grid <= w[k, 1]), w[k, 2], np.nan)


def cached(dataset: str, encoder: str | None) -> list[dict[str, np.ndarray]]:
    """:func:`spans`, kept under runs/say-when-3/ (replays are slow on a shared host)."""
    cache = Path("runs/say-when-3") / f"{dataset}_{Path(encoder).stem if encoder else 'bundled'}.npz"
    if cache.exists():
        z = np.load(cache)
        return [
            {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(f"{i}/")} for i in range(int(z["n"]))
        ]
    rows = spans(dataset, encoder)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, n=len(rows), **{f"{i}/{k}": v for i, r in enumerate(rows) for k, v in r.items()})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", choices=sorted(STREAM_SETS))
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--short-encoder", default=None, help="its crops' scores in place of the encoder's")
    a = ap.parse_args()
    rows = cached(a.dataset, a.encoder)
    if a.short_encoder:
        for row, other in zip(rows, cached(a.dataset, a.short_encoder), strict=True):
            np.testing.assert_allclose(row["Ce"][:, :2], other["Ce"][:, :2])  # the same crops
            row["Ce"] = other["Ce"]

    aucs: dict[str, list[float]] = {}
    for row in rows:
        r = rules(row, 20.0)
        grid = r.pop("_grid")
        ab, no = (
            _inside(grid, [tuple(x) for x in row["abnormal"]]),
            _inside(grid, [tuple(x) for x in row["normal"]]),
        )
        for name, s in r.items():
            ok = (ab | no) & np.isfinite(s)
            if ab[ok].any() and no[ok].any():
                aucs.setdefault(name, []).append(roc_auc(s[ok], ab[ok]))
    result = {
        "dataset": a.dataset,
        "encoder": a.encoder,
        "short_encoder": a.short_encoder,
        **{k: round(float(np.mean(v)), 3) for k, v in aucs.items()},
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
