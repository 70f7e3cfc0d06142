"""Print sweep.py's JSON lines as a table: one rule a row, one set a column, and the mean."""

import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
keys = [k for k in rows[0] if k != "set"]
sys.stdout.write("| rule | " + " | ".join(r["set"] for r in rows) + " | mean |\n")
sys.stdout.write("| --- |" + " --- |" * (len(rows) + 1) + "\n")
for k in keys:
    vals = [r[k] for r in rows]
    sys.stdout.write(
        f"| {k} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {sum(vals) / len(vals):.3f} |\n"
    )
