"""Issue 24 (4): the rule sweep of 2026-12-06-say-when-4.md on the cached replays (rules.py).

python docs/experiments/2026-12-06-say-when-4/sweep.py [SET ...]
"""

from __future__ import annotations

import json
import sys

import numpy as np
from rules import SETS, Rule, evaluate, geo


def zlog(x: np.ndarray, loo: np.ndarray) -> np.ndarray:
    """``x`` (a ratio) as a z-score of log ratio against the support's leave-one-clip-out ratios."""
    ll = np.log(np.maximum(loo[np.isfinite(loo)], 1e-6))
    return (np.log(np.maximum(x, 1e-6)) - ll.mean()) / max(ll.std(), 1e-6)


def rules() -> dict[str, Rule]:
    r: dict[str, Rule] = {}
    for k in ("box", "tri"):
        r[f"{k} geo W,C"] = lambda c, row, k=k: geo(c[f"We:{k}"], c[f"Ce:{k}"])
        r[f"{k} raw geo W,C"] = lambda c, row, k=k: geo(c[f"Wr:{k}"], c[f"Cr:{k}"])
        r[f"{k} geo W,max(Ce,Cr)"] = lambda c, row, k=k: geo(
            c[f"We:{k}"], np.fmax(c[f"Ce:{k}"], c[f"Cr:{k}"])
        )
        r[f"{k} geo W,Ce,Cr"] = lambda c, row, k=k: geo(c[f"We:{k}"], c[f"Ce:{k}"], c[f"Cr:{k}"])
        r[f"{k} geo W,C,H"] = lambda c, row, k=k: geo(c[f"We:{k}"], c[f"Ce:{k}"], c[f"He:{k}"])
        r[f"{k} geo W,max(Ce,Cr),max(He,Hr)"] = lambda c, row, k=k: geo(
            c[f"We:{k}"], np.fmax(c[f"Ce:{k}"], c[f"Cr:{k}"]), np.fmax(c[f"He:{k}"], c[f"Hr:{k}"])
        )

        # z-scored against each scorer's own support spread (leave-one-clip-out, 1 s crops)
        def zmax(c, row, k=k):
            ze = zlog(c[f"Ce:{k}"], row["Le1"])
            zr = zlog(c[f"Cr:{k}"], row["Lr1"])
            zf = np.fmax(ze, zr)
            ll = np.log(np.maximum(row["Le1"], 1e-6))
            back = np.exp(zf * ll.std() + ll.mean())  # in the encoder's crop-ratio units
            return geo(c[f"We:{k}"], back)

        r[f"{k} geo W, zmax(Ce,Cr)"] = zmax

        def zmean(c, row, k=k):
            ze = zlog(c[f"Ce:{k}"], row["Le1"])
            zr = zlog(c[f"Cr:{k}"], row["Lr1"])
            ll = np.log(np.maximum(row["Le1"], 1e-6))
            back = np.exp(np.where(np.isfinite(zr), (ze + zr) / 2, ze) * ll.std() + ll.mean())
            return geo(c[f"We:{k}"], back)

        r[f"{k} geo W, zmean(Ce,Cr)"] = zmean
    return r


def agreement(row: dict[str, np.ndarray], scale: str = "1") -> float:
    """The kinematic weight: rank agreement of the two scorers' support scores (edge.short_scale)."""
    from edge.short_scale import rank_agreement

    return max(rank_agreement(row[f"Le{scale}"], row[f"Lr{scale}"]), 0.0)


def chosen() -> dict[str, Rule]:
    """The kept rule (centre-weighted spans, kinematic term weighted by agreement) against the
    alternatives measured beside it, incl. a third, 0.5 s scale."""
    r: dict[str, Rule] = {}
    for k in ("box", "tri"):
        r[f"{k} geo W,C (before)"] = lambda c, row, k=k: geo(c[f"We:{k}"], c[f"Ce:{k}"])
        r[f"{k} raw-DCT geo W,C"] = lambda c, row, k=k: geo(c[f"Wr:{k}"], c[f"Cr:{k}"])
        r[f"{k} geo W,C,Cr^a (kept if tri)"] = lambda c, row, k=k: geo(
            c[f"We:{k}"], c[f"Ce:{k}"], c[f"Cr:{k}"], weights=(1, 1, agreement(row))
        )
        r[f"{k} geo W,C,Cr (a=1)"] = lambda c, row, k=k: geo(c[f"We:{k}"], c[f"Ce:{k}"], c[f"Cr:{k}"])
        r[f"{k} geo W,C,H,Cr^a,Hr^a05"] = lambda c, row, k=k: geo(
            c[f"We:{k}"],
            c[f"Ce:{k}"],
            c[f"He:{k}"],
            c[f"Cr:{k}"],
            c[f"Hr:{k}"],
            weights=(1, 1, 1, agreement(row), agreement(row, "05")),
        )
        r[f"{k} raw-DCT geo W,C,H"] = lambda c, row, k=k: geo(c[f"Wr:{k}"], c[f"Cr:{k}"], c[f"Hr:{k}"])
        r[f"{k} geo W,C,H,Cr^a"] = lambda c, row, k=k: geo(
            c[f"We:{k}"], c[f"Ce:{k}"], c[f"He:{k}"], c[f"Cr:{k}"], weights=(1, 1, 1, agreement(row))
        )
    r["tri geo W,C,Cr^a, a from 3 s"] = lambda c, row: geo(
        c["We:tri"], c["Ce:tri"], c["Cr:tri"], weights=(1, 1, agreement(row, "3"))
    )
    r["tri geo W,C,Cr^a, a > 0.5 only"] = lambda c, row: geo(
        c["We:tri"], c["Ce:tri"], c["Cr:tri"], weights=(1, 1, float(agreement(row) > 0.5))
    )
    return r


def _rolling(x: np.ndarray, n: int, how: str, causal: bool) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(len(x)):
        seg = x[max(0, i - n) : (i + 1 if causal else min(len(x), i + n + 1))]
        out[i] = seg.min() if how == "min" else np.median(seg)
    return out


def more() -> dict[str, Rule]:
    """Temporal contrast (a moment's crops against the same stream's recent or surrounding ones)
    and other gates on the kinematic term."""
    r: dict[str, Rule] = {"tri geo W,C": lambda c, row: geo(c["We:tri"], c["Ce:tri"])}
    for t in (2, 4, 6):
        for how in ("min", "med"):
            for causal in (True, False):

                def contrast(c, row, t=t, how=how, causal=causal):  # type: ignore[no-untyped-def]
                    crops = np.where(np.isfinite(c["Ce:tri"]), c["Ce:tri"], c["We:tri"])
                    base = _rolling(crops, int(t * 20), how, causal)
                    return geo(c["We:tri"], c["Ce:tri"], crops / np.maximum(base, 1e-3))

                r[f"tri geo W,C,C/{how} {'past' if causal else 'around'} {t} s"] = contrast
    for thr in (0.0, 0.5):
        r[f"tri geo W,max(Ce,Cr) if a>{thr}"] = lambda c, row, thr=thr: geo(
            c["We:tri"], np.fmax(c["Ce:tri"], c["Cr:tri"]) if agreement(row) > thr else c["Ce:tri"]
        )
        r[f"tri geo W,Ce,Cr if a>{thr}"] = lambda c, row, thr=thr: (
            geo(c["We:tri"], c["Ce:tri"], c["Cr:tri"])
            if agreement(row) > thr
            else geo(c["We:tri"], c["Ce:tri"])
        )
    r["tri geo W,max(Ce,Cr^a)"] = lambda c, row: geo(
        c["We:tri"], np.fmax(c["Ce:tri"], c["Cr:tri"] ** agreement(row))
    )
    return r


if __name__ == "__main__":
    table = chosen() if "--chosen" in sys.argv else more() if "--more" in sys.argv else rules()
    for name in [a for a in sys.argv[1:] if not a.startswith("--")] or SETS:
        sys.stdout.write(json.dumps({"set": name, **evaluate(name, table)}) + "\n")
