"""Frame AUC of one stream set under several per-moment rules, from the same replays.

    python docs/experiments/2026-12-05-say-when/frame_rules.py kinder-gator-dense 1.0

Rules with crops leave out the frames no crop covers, except ``mean`` and ``w*`` (windows there).
"""

import sys
import warnings

import numpy as np

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from evaluation import stream as S
from evaluation.stream_sets import STREAM_SETS


def weighted(a: float):
    def rule(g, w, c):
        wm, cm = S._covering_mean(g, w), S._covering_mean(g, c)
        return np.where(np.isnan(cm), wm, a * cm + (1 - a) * wm)

    return rule


RULES = {
    "windows": lambda g, w, c: S._covering_mean(g, w),
    "crops": lambda g, w, c: S._covering_mean(g, c),
    "mean": lambda g, w, c: np.nanmean([S._covering_mean(g, w), S._covering_mean(g, c)], 0),
    "max": lambda g, w, c: np.fmax(S._covering_mean(g, w), S._covering_mean(g, c)),
    **{f"w{a}": weighted(a) for a in (0.6, 0.75, 0.9)},
    "geo": lambda g, w, c: np.sqrt(np.fmax(S._covering_mean(g, c), 0) * S._covering_mean(g, w)),
}


def main(dataset: str, seconds: float) -> None:
    cfg = WorkerConfig.model_validate({"short_window_s": seconds})
    encoder = make_backend(OnnxRuntimeConfig())
    streams = STREAM_SETS[dataset](None)
    for name, backend in (("encoder", encoder), ("raw", RawDctBackend(encoder.spec))):
        aucs: dict[str, list[float]] = {k: [] for k in RULES}
        profiles = {}
        for st in streams:
            key = (st.normal_label, *(c.name for c in st.support))
            if key not in profiles:
                profiles[key] = build_profile("eval", st.support, backend, calibration=cfg.calibration)
            run = S.replay(st, profiles[key], backend, cfg)
            w, c = np.array(run.windows), np.array(run.crops)
            grid = np.arange(w[:, 0].min(), w[:, 1].max(), 1 / encoder.spec.fps)
            for k, rule in RULES.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    s = rule(grid, w, c)
                keep = np.isfinite(s)
                t, s = grid[keep], s[keep]
                abnormal, normal = S._inside(t, st.abnormal), S._inside(t, st.normal)
                labelled = abnormal | normal
                if abnormal.any() and normal.any():
                    aucs[k].append(S.roc_auc(s[labelled], abnormal[labelled]))
        means = {k: round(float(np.mean(v)), 3) for k, v in aucs.items()}
        sys.stdout.write(f"{dataset} {seconds} {name} {means}\n")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
