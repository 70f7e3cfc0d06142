"""Issue 24 (4): replay a stream set once per scale, keep every span's ratio and the support's own.

Every stream of a set is replayed through the worker's pipeline (as ``haad eval stream``) with the
bundled encoder (``e``) and the raw-DCT scorer (``r``), once with ``short_window_s`` 1.0 and once
with 0.5. Kept per stream and scorer: ``W{m}`` the windows' own score / threshold (before fusion),
``C{m}`` the 1 s crops' and ``H{m}`` the 0.5 s crops' score / threshold (``(t0, t1, ratio)`` rows);
and, from the enrolment alone, ``L{m}{scale}`` the support's leave-one-clip-out score / threshold
at each scale (full windows, 1 s and 0.5 s crops; real rows only), as the profile's calibration
sees them. Cached under runs/say-when-4/SET.npz; ``rules.py`` reads it.

    python docs/experiments/2026-12-06-say-when-4/replay_cache.py SET
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from config.edge import EdgeConfig
from edge.backends import make_backend
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from edge.profiles import Profile
from edge.scoring import leave_one_clip_out_scores
from edge.short_scale import short_profile
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS

CACHE = Path("runs/say-when-4")


def loo_ratios(profile: Profile) -> np.ndarray:
    """The support's real rows scored leave-one-clip-out, over the profile's threshold."""
    real = ~profile.generated_rows
    s = leave_one_clip_out_scores(profile.embeddings, profile.groups, real, profile.behaviour_ids)
    return np.asarray(s, np.float64) / profile.threshold


def spans(dataset: str) -> list[dict[str, np.ndarray]]:
    cfg = EdgeConfig()
    backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
    scorers = {"e": backend, "r": RawDctBackend(backend.spec)}
    out = []
    profiles: dict[tuple[str, ...], Profile] = {}
    support: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
    for stream in STREAM_SETS[dataset](None):
        row: dict[str, np.ndarray] = {}
        for m, scorer in scorers.items():
            key = (m, stream.normal_label, *(c.name for c in stream.support))
            if key not in profiles:
                profiles[key] = build_profile("eval", stream.support, scorer, calibration=cfg.worker.calibration,
                                              min_segment_s=cfg.worker.min_segment_s)  # fmt: skip
                p = profiles[key]
                support[key] = {
                    f"L{m}3": loo_ratios(p),
                    **{
                        f"L{m}{tag}": loo_ratios(short_profile(p, scorer, cfg.worker.calibration, s))
                        for tag, s in (("1", 1.0), ("05", 0.5))
                    },
                }
            row |= support[key]
            for tag, seconds in (("C", 1.0), ("H", 0.5)):
                run = replay(
                    stream,
                    profiles[key],
                    scorer,
                    cfg.worker.model_copy(update={"short_window_s": seconds}),
                    Pipeline,
                )
                row[f"{tag}{m}"] = np.array(run.crops)
                if tag == "C":
                    row[f"W{m}"] = np.array(run.full)  # the windows' own ratio, unfused
        row["abnormal"], row["normal"] = np.array(stream.abnormal), np.array(stream.normal)
        row["track"] = np.array(stream.normal_label)
        out.append(row)
    return out


def cached(dataset: str) -> list[dict[str, np.ndarray]]:
    cache = CACHE / f"{dataset}.npz"
    if cache.exists():
        z = np.load(cache)
        return [
            {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(f"{i}/")} for i in range(int(z["n"]))
        ]
    rows = spans(dataset)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, n=len(rows), **{f"{i}/{k}": v for i, r in enumerate(rows) for k, v in r.items()})
    return rows


if __name__ == "__main__":
    for name in sys.argv[1:]:
        rows = cached(name)
        sys.stdout.write(f"{name}: {len(rows)} streams\n")
