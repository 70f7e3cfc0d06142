"""Multiscale few-shot rules on the cached embeddings (cache.py), through the full protocol.

Every rule runs inside ``evaluation.fewshot.evaluate_dataset`` (draws, seeds, cross-view NW-UCLA,
support clips never scored, clip score = mean of its windows' scores): the protocol is handed the
window *indices* as its "embeddings", so a rule sees which windows form the support (``sup``) and
looks up their 3 s embeddings and 1 s crops itself. Rules that fuse at clip level give every window
of a clip the clip's value, so the protocol's mean returns it unchanged.

Scales are put on one scale as the worker does: each scale's distance over that scale's threshold,
calibrated per draw from the support alone by edge/scoring.py's rule (leave-one-clip-out, the
encoder's prior for that scale, target_far 0.05, margin 1).

    python rules.py [--only NAME,...] kinder-gator msr nw-ucla utkinect   # -> /tmp/h-k3/rules-D.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np

from edge.scoring import calibrate_threshold, leave_one_clip_out_scores
from edge.short_scale import rank_agreement
from evaluation.fewshot import EvalWindows, evaluate_dataset
from models.encoder import DEFAULT_ENCODER_PATH
from models.scoring import behaviour_prototypes, pairwise_distances

TARGET_FAR = 0.05
KINEMATIC_FLOOR = 0.5


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


def kappas() -> tuple[float, float]:
    prior = json.loads((DEFAULT_ENCODER_PATH.parent / "encoder.calibration.json").read_text())
    fars = np.log(prior["fars"])
    at = np.log(TARGET_FAR)
    return (
        float(np.interp(at, fars, prior["kappas"])),
        float(np.interp(at, fars, prior["scales"]["1.00"])),
    )


KAPPA3, KAPPA1 = kappas()


class Data:
    def __init__(self, dataset: str) -> None:
        z = np.load(f"/tmp/h-k3/cache-{dataset}.npz")
        self.emb3 = z["emb3"]
        self.sup_emb = z["sup_emb"]  # (W, k, D) support-style crops
        self.sup_dct = z["sup_dct"]
        self.live_emb = z["live_emb"]  # (W, k, D), NaN rows where a short clip has fewer crops
        self.live_dct = z["live_dct"]
        self.clip_of = z["clip_of"]
        self.n_clips = int(self.clip_of.max()) + 1
        self.tw = EvalWindows(
            np.zeros((len(self.emb3), 1, 1, 1), np.float32), self.clip_of, tuple(z["labels"].tolist()),
            tuple(z["names"].tolist()), tuple(z["views"].tolist()), 0, 0, 0,
        )  # fmt: skip
        self.k = self.sup_emb.shape[1]
        self.live_ok = ~np.isnan(self.live_emb[:, :, 0])

    def clip_mean(self, x: np.ndarray) -> np.ndarray:
        """Per-window values -> each window gets its clip's mean (clip-level fusion)."""
        s = np.bincount(self.clip_of, x, minlength=self.n_clips) / np.bincount(
            self.clip_of, minlength=self.n_clips
        )
        return s[self.clip_of]


def nearest(q: np.ndarray, protos: np.ndarray) -> np.ndarray:
    shape = q.shape[:-1]
    flat = q.reshape(-1, q.shape[-1])
    out = np.full(len(flat), np.nan, np.float32)
    ok = ~np.isnan(flat[:, 0])
    out[ok] = pairwise_distances(flat[ok], protos).min(axis=1)
    return out.reshape(shape)


def kmeans_protos(x: np.ndarray, b: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Per behaviour, k-means with ``k`` centres (k-means++ init, 20 iterations; fewer points: each a centre)."""
    out = []
    for beh in np.unique(b):
        pts = x[b == beh].astype(np.float64)
        if len(pts) <= k:
            out.append(pts)
            continue
        rng = np.random.default_rng(seed)
        centres = [pts[rng.integers(len(pts))]]
        for _ in range(k - 1):
            d2 = np.min([((pts - c) ** 2).sum(1) for c in centres], axis=0)
            centres.append(pts[rng.choice(len(pts), p=d2 / d2.sum())] if d2.sum() > 0 else pts[0])
        c = np.array(centres)
        for _ in range(20):
            assign = ((pts[:, None] - c[None]) ** 2).sum(-1).argmin(1)
            c = np.array([pts[assign == j].mean(0) if (assign == j).any() else c[j] for j in range(k)])
        out.append(c)
    return np.concatenate(out).astype(np.float32)


def threshold(emb: np.ndarray, groups: np.ndarray, behaviours: np.ndarray, kappa: float | None) -> float:
    return calibrate_threshold(emb, groups, behaviours=behaviours, target_far=TARGET_FAR, margin=1.0,
                               kappa=kappa).threshold  # fmt: skip


def make_rules(D: Data) -> dict[str, Callable[..., np.ndarray]]:
    k = D.k

    memo: dict[bytes, dict[str, object]] = {}

    def parts(
        sup: np.ndarray, behaviour_of: np.ndarray, groups: np.ndarray, need: set[str]
    ) -> dict[str, object]:
        # the same draw recurs in every rule (the protocol seeds each draw): compute its parts once
        rows = sup[:, 0].astype(int)
        key = rows.tobytes() + behaviour_of.tobytes()
        p = memo.setdefault(key, {"rows": rows, "beh_of": behaviour_of})
        if "thr" in need and "thr3" not in p:
            p["thr3"] = threshold(D.emb3[rows], groups, behaviour_of, KAPPA3)
            ce = D.sup_emb[rows].reshape(-1, D.sup_emb.shape[2])
            p["thr1"] = threshold(ce, np.repeat(groups, k), np.repeat(behaviour_of, k), KAPPA1)
        if "kin" in need and "a" not in p:
            ce = D.sup_emb[rows].reshape(-1, D.sup_emb.shape[2])
            cb, cg = np.repeat(behaviour_of, k), np.repeat(groups, k)
            cd = D.sup_dct[rows].reshape(-1, D.sup_dct.shape[2])
            pk, _ = behaviour_prototypes(cd, cb)
            p["dkin"] = nearest(D.live_dct, pk)
            p["thrk"] = threshold(cd, cg, cb, None)  # the kinematic profile: no prior
            enc_loo = leave_one_clip_out_scores(ce, cg, None, cb)
            kin_loo = leave_one_clip_out_scores(cd, cg, None, cb)
            p["a"] = max(rank_agreement(enc_loo, kin_loo), KINEMATIC_FLOOR)
        if "d3" in p:
            return p
        p3, _ = behaviour_prototypes(D.emb3[rows], behaviour_of)
        p["d3"] = nearest(D.emb3, p3)
        ce = D.sup_emb[rows].reshape(-1, D.sup_emb.shape[2])
        pc, _ = behaviour_prototypes(ce, np.repeat(behaviour_of, k))
        p["pc"] = pc
        p["dlive"] = nearest(D.live_emb, pc)  # (W, k)
        return p

    def last(x: np.ndarray) -> np.ndarray:
        return x[:, -1]

    def allmean(x: np.ndarray) -> np.ndarray:
        return np.nanmean(x, axis=1)

    def rule(
        fn: Callable[[dict[str, object]], np.ndarray], need: set[str] = frozenset()
    ) -> Callable[..., np.ndarray]:
        def r(
            embeddings: np.ndarray, sup: np.ndarray, behaviour_of: np.ndarray, groups: np.ndarray
        ) -> np.ndarray:
            return fn(parts(sup, behaviour_of, groups, set(need)))

        return r

    def geo(*terms: tuple[np.ndarray, float]) -> np.ndarray:
        logs = sum(w * np.log(np.maximum(x, 1e-9)) for x, w in terms)
        return np.exp(logs / sum(w for _, w in terms))

    rules: dict[str, Callable[..., np.ndarray]] = {
        "3s (today)": rule(lambda p: p["d3"]),
        "1s last crop alone": rule(lambda p: last(p["dlive"])),
        "1s all crops alone": rule(lambda p: allmean(p["dlive"])),
    }
    for crop_name, crop in (("last", last), ("all", allmean)):

        def r3(p):
            return p["d3"] / p["thr3"]  # noqa: E704

        def rc(p, crop=crop):
            return crop(p["dlive"]) / p["thr1"]  # noqa: E704

        rules[f"max(3s, 1s {crop_name}) [alert rule]"] = rule(lambda p, rc=rc: np.fmax(r3(p), rc(p)), {"thr"})
        rules[f"geo(3s, 1s {crop_name}) [moment rule]"] = rule(
            lambda p, rc=rc: geo((r3(p), 1), (rc(p), 1)), {"thr"}
        )
        rules[f"mean(3s, 1s {crop_name})"] = rule(lambda p, rc=rc: (r3(p) + rc(p)) / 2, {"thr"})
        rules[f"raw mean(3s, 1s {crop_name})"] = rule(lambda p, crop=crop: (p["d3"] + crop(p["dlive"])) / 2)
        rules[f"geo(3s, 1s {crop_name}, kin^a) [moment rule + kinematic]"] = rule(
            lambda p, rc=rc, crop=crop: geo((r3(p), 1), (rc(p), 1), (crop(p["dkin"]) / p["thrk"], p["a"])),
            {"thr", "kin"},
        )
    # clip-level fusion: each scale's clip mean first, then fused
    rules["clip max(3s, 1s all)"] = rule(
        lambda p: np.fmax(D.clip_mean(p["d3"] / p["thr3"]), D.clip_mean(allmean(p["dlive"]) / p["thr1"])),
        {"thr"},
    )
    rules["clip geo(3s, 1s all)"] = rule(
        lambda p: np.sqrt(D.clip_mean(p["d3"] / p["thr3"]) * D.clip_mean(allmean(p["dlive"]) / p["thr1"])),
        {"thr"},
    )
    # weights of the 1 s term in a raw-ratio mean
    for w in (0.25, 0.5):
        rules[f"(1-w)·3s + w·1s all, ratios, w={w}"] = rule(
            lambda p, w=w: (1 - w) * p["d3"] / p["thr3"] + w * allmean(p["dlive"]) / p["thr1"], {"thr"}
        )

    # (b) more support points per behaviour
    def km3(kk: int) -> Callable[[dict[str, object]], np.ndarray]:
        def f(p: dict[str, object]) -> np.ndarray:
            rows = p["rows"]
            return nearest(D.emb3, kmeans_protos(D.emb3[rows], p["beh"], kk))

        return f

    def with_beh(fn: Callable[[dict[str, object]], np.ndarray]) -> Callable[..., np.ndarray]:
        def r(
            embeddings: np.ndarray, sup: np.ndarray, behaviour_of: np.ndarray, groups: np.ndarray
        ) -> np.ndarray:
            rows = sup[:, 0].astype(int)
            p = {"rows": rows, "beh": behaviour_of, "groups": groups}
            return fn(p)

        return r

    for kk in (2, 3):
        rules[f"3s k-means {kk} per behaviour"] = with_beh(km3(kk))

        def kmc(p: dict[str, object], kk: int = kk) -> np.ndarray:
            rows, b = p["rows"], p["beh"]
            ce = D.sup_emb[rows].reshape(-1, D.sup_emb.shape[2])
            return allmean(nearest(D.live_emb, kmeans_protos(ce, np.repeat(b, k), kk)))

        rules[f"1s all crops, k-means {kk} per behaviour"] = with_beh(kmc)

    def per_offset(p: dict[str, object]) -> np.ndarray:
        # one prototype per (behaviour, crop offset): a behaviour's start, middle and end apart
        rows, b = p["rows"], p["beh"]
        protos = np.concatenate([behaviour_prototypes(D.sup_emb[rows, j], b)[0] for j in range(k)])
        return allmean(nearest(D.live_emb, protos))

    rules["1s all crops, a prototype per crop offset"] = with_beh(per_offset)

    def crop_support_3s(p: dict[str, object]) -> np.ndarray:
        # 3 s windows scored against prototypes of 3 s windows and of 1 s crops pooled (crops as extra support points)
        rows, b = p["rows"], p["beh"]
        return nearest(D.emb3, np.concatenate([behaviour_prototypes(D.emb3[rows], b)[0],
                                                behaviour_prototypes(D.sup_emb[rows].reshape(-1, D.sup_emb.shape[2]), np.repeat(b, k))[0]]))  # fmt: skip

    rules["3s vs 3s and 1s prototypes"] = with_beh(crop_support_3s)

    # (c) one behaviour for both scales: a window is normal for behaviour b only if its 3 s window and
    # its crops are both near b (not the 3 s window near one behaviour and the crops near another)
    def per_behaviour(p: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
        if "r3b" not in p:
            rows, b = p["rows"], p["beh_of"]
            p3, _ = behaviour_prototypes(D.emb3[rows], b)
            pc, _ = behaviour_prototypes(D.sup_emb[rows].reshape(-1, D.sup_emb.shape[2]), np.repeat(b, k))
            p["r3b"] = pairwise_distances(D.emb3, p3) / p["thr3"]  # (W, B)
            flat = D.live_emb.reshape(-1, D.live_emb.shape[2])
            ok = ~np.isnan(flat[:, 0])
            dc = np.full((len(flat), len(pc)), np.nan, np.float32)
            dc[ok] = pairwise_distances(flat[ok], pc)
            p["rcb"] = np.nanmean(dc.reshape(len(D.emb3), k, -1), axis=1) / p["thr1"]  # (W, B)
        return p["r3b"], p["rcb"]

    rules["min_b geo(3s_b, 1s all_b) [one behaviour, both scales]"] = rule(
        lambda p: np.sqrt(np.prod(per_behaviour(p), axis=0)).min(axis=1), {"thr", "beh"}
    )
    rules["min_b max(3s_b, 1s all_b) [one behaviour, both scales]"] = rule(
        lambda p: np.fmax(*per_behaviour(p)).min(axis=1), {"thr", "beh"}
    )
    rules["min_b (0.75·3s_b + 0.25·1s all_b)"] = rule(
        lambda p: (0.75 * per_behaviour(p)[0] + 0.25 * per_behaviour(p)[1]).min(axis=1), {"thr", "beh"}
    )
    return rules


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--only", default=None)
    ap.add_argument("--behaviours", default="1,3")
    a = ap.parse_args()
    for dataset in a.datasets:
        D = Data(dataset)
        rules = make_rules(D)
        if a.only:
            rules = {n: r for n, r in rules.items() if any(o in n for o in a.only.split(","))}
        rules = dict(sorted(rules.items(), key=lambda kv: "kin^a" in kv[0]))  # the slow ones last
        idx = np.arange(len(D.emb3), dtype=np.float64)[:, None]
        out_path = f"/tmp/h-k3/rules-{dataset}.json"
        try:
            out = json.loads(open(out_path).read())
        except FileNotFoundError:
            out = {}
        for name, r in rules.items():
            for kb in map(int, a.behaviours.split(",")):
                t0 = time.time()
                res, _ = evaluate_dataset(D.tw, idx, shots=3, seeds=10, behaviours=kb, rule=r)
                auc = float(np.mean([np.mean(v) for v in res.per_category.values()]))
                out.setdefault(name, {})[f"K{kb}"] = auc
                say(f"{dataset:14s} K={kb} {auc:.4f}  {name}  ({time.time() - t0:.0f} s)")
                open(out_path, "w").write(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
