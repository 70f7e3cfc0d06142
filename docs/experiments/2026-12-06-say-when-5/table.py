"""JSON lines of alert_rules.py on stdin -> one markdown table."""

import json
import sys

f = lambda x, d=2: "–" if x is None else f"{x:.{d}f}"  # noqa: E731
sys.stdout.write(
    "| set | rule | P | R | median delay | median \\|start\\| / \\|end\\| err | normal windows over threshold (target) | false alerts / normal h | silent | one alert per part | frame AUC |\n"
)
sys.stdout.write("|" + " --- |" * 11 + "\n")
for line in sys.stdin:
    r = json.loads(line)
    sys.stdout.write(
        f"| {r['set']} | {r['rule']} | {f(r['P'])} | {f(r['R'])} | {f(r['delay'], 1)} s | "
        f"{f(r['start_err'], 1)} / {f(r['end_err'], 1)} s | {f(r['far'], 3)} ({r['far_target']}) | "
        f"{f(r['false_alerts_per_h'], 1)} | {r['silent']} of {r['streams']} | {r['one_alert']} of {r['parts']} | {f(r['auc'], 3)} |\n"
    )
