"""The note's table from rules.py's printed lines (stdin: its logs): AUC at K = 1 and 3 per dataset.
The last line for a (dataset, K, rule) wins.

    cat /tmp/h-k3/rules*.log | python table.py
"""

from __future__ import annotations

import re
import sys

SETS = (("kinder-gator", "KG"), ("msr", "MSR"), ("nw-ucla", "NW-UCLA"), ("utkinect", "UTK"))
LINE = re.compile(r"^(\S+)\s+K=(\d) (\d\.\d+)  (.*)  \(\d+ s\)$")


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


def main() -> None:
    res: dict[str, dict[tuple[str, str], float]] = {}
    for line in sys.stdin:
        m = LINE.match(line.rstrip("\n"))
        if m:
            d, k, auc, name = m.groups()
            res.setdefault(name, {})[(d, k)] = float(auc)
    head = " | ".join(f"{s} K=1 | {s} K=3" for _, s in SETS)
    say(f"| rule | {head} |")
    say("| --- |" + " --- |" * (2 * len(SETS)))
    for n, r in res.items():
        cells = [f"{r[(d, k)]:.3f}" if (d, k) in r else "" for d, _ in SETS for k in ("1", "3")]
        say(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
