"""Issue 24 (4): the kinematic weight of each profile (edge.short_scale.kinematic_weight, from the
cached support scores) beside the per-stream frame AUC of each scorer's 1 s crops alone.

    python docs/experiments/2026-12-06-say-when-4/weights.py [SET ...]
"""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np
from rules import SETS, frames
from sweep import agreement

from evaluation.fewshot import roc_auc


def main() -> None:
    groups = []  # (weight, raw-DCT crops AUC - encoder's) per (set, normal behaviour)
    for name in sys.argv[1:] or SETS:
        by: dict[str, list[tuple[float, ...]]] = defaultdict(list)
        for cov, row in frames(name):
            ok = cov["ab"] | cov["no"]
            aucs = []
            for k in ("Ce:tri", "Cr:tri"):
                s = np.where(np.isfinite(cov[k]), cov[k], cov["We:tri"])
                aucs.append(roc_auc(s[ok], cov["ab"][ok]))
            by[str(row["track"])].append((agreement(row), *aucs))
        sys.stdout.write(f"{name}\n")
        for track, v in by.items():
            a = np.array(v)
            groups.append((a[:, 0].mean(), a[:, 2].mean() - a[:, 1].mean()))
            sys.stdout.write(
                f"  {track}: weight {a[:, 0].mean():.2f}, crops AUC encoder {a[:, 1].mean():.3f} "
                f"raw-DCT {a[:, 2].mean():.3f} ({len(a)} streams)\n"
            )
    g = np.array(groups)
    ranks = [np.argsort(np.argsort(x)) for x in g.T]
    sys.stdout.write(
        f"{len(g)} groups: weight vs raw-DCT minus encoder crops AUC, Pearson {np.corrcoef(g.T)[0, 1]:.2f}, "
        f"Spearman {np.corrcoef(ranks)[0, 1]:.2f}\n"
    )


if __name__ == "__main__":
    main()
