"""Do 1 s crops tell apart the category pairs the 3 s windows cannot (K = 1, full protocol)?

Per (normal, anomaly) category pair: pair AUC with the 3 s windows (today) and with the mean of
every 1 s crop's distance (``1s all crops alone`` in rules.py); reported over the 3 s twins (pair
AUC < 0.6) and over all pairs, with how many twins the 1 s scale lifts above 0.6.

    python twins.py kinder-gator msr nw-ucla utkinect
"""

from __future__ import annotations

import sys

import numpy as np
from rules import Data, make_rules, say  # type: ignore[import-not-found]

from evaluation.fewshot import evaluate_dataset


def main() -> None:
    for dataset in sys.argv[1:]:
        D = Data(dataset)
        rules = make_rules(D)
        idx = np.arange(len(D.emb3), dtype=np.float64)[:, None]
        pm = {}
        for name in ("3s (today)", "1s all crops alone", "geo(3s, 1s all) [moment rule]"):
            res, _ = evaluate_dataset(D.tw, idx, shots=3, seeds=10, behaviours=1, rule=rules[name])
            pm[name] = {(c, d): v for c, row in res.pair_means().items() for d, v in row.items()}
        base = pm["3s (today)"]
        twins = [p for p, v in base.items() if v < 0.6]
        say(f"{dataset}: {len(twins)} of {len(base)} pairs below 0.6 at 3 s")
        for name, m in pm.items():
            t = np.array([m[p] for p in twins])
            say(
                f"  {name:34s} twins mean {t.mean():.3f}, above 0.6: {(t >= 0.6).sum():3d}; "
                f"all pairs mean {np.mean(list(m.values())):.3f}, below 0.6: {sum(v < 0.6 for v in m.values())}"
            )
        worst = sorted(twins, key=lambda p: base[p])[:6]
        for p in worst:
            say(f"    {p[0]} / {p[1]}: 3 s {base[p]:.2f}, 1 s {pm['1s all crops alone'][p]:.2f}")


if __name__ == "__main__":
    main()
