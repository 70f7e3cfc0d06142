"""``haad eval fewshot``: the benchmark on one dataset, encoder vs the ``raw-dct`` baseline.

With ``augmentation``, every support window of the encoder also brings N_g HumanMAC completions
(Algorithm 2, as ``haad enroll --augment`` does), generated once per evaluation window into the
augmentation bank cache, so every support-set draw and every later run reuses them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge.backends.raw_dct import raw_dct_features
from evaluation.fewshot import (
    NO_WINDOW,
    ROC_GRID,
    SHORT_CLIP,
    MethodResult,
    eval_windows,
    evaluate_dataset,
    unseen_categories,
)
from evaluation.scoring_rules import DEFAULT_RULE, RULES
from models.embedding import embed_all, embed_variants
from models.encoder import DEFAULT_ENCODER_PATH, encoder_embed_fn, load_encoder
from models.preprocess import same_frames
from training.augbank import AugmentationBank, BankSettings
from training.datasets import load_dataset
from training.protocol import split_for


def _onnx_embed_fn(encoder_path: Path, precision: str) -> Callable[[np.ndarray], np.ndarray]:
    from config.backend import OnnxRuntimeConfig
    from edge.backends.onnx import OnnxRuntimeBackend

    if precision not in ("fp32", "int8"):
        raise ValueError(f"unknown ONNX precision {precision!r}: use fp32 or int8")
    return OnnxRuntimeBackend(OnnxRuntimeConfig(precision=precision), encoder_path).embed  # type: ignore[arg-type]


def run_fewshot_eval(
    dataset: str,
    *,
    encoder_path: Path | None = None,
    shots: int = 3,
    seeds: int = 10,
    out_dir: Path | None = None,
    data_root: str | None = None,
    augmentation: BankSettings | None = None,
    humanmac: Path | None = None,
    cache_dir: str = ".cache/augbank",
    sensor: str | None = None,
    sensor_seed: int = 0,
    behaviours: int = 1,
    rule: str = DEFAULT_RULE,
    macdiff: Path | None = None,
    onnx: str | None = None,
) -> dict[str, Any]:
    """Evaluate and (when ``out_dir``) write ``summary.json``, ``pairs.json`` (mean AUC of every
    (normal, anomaly) category pair, per method) and ``roc_<dataset>.png``. ``augmentation``: HumanMAC
    support-set augmentation of the encoder with these settings and model (default: the bundled one).
    ``sensor``: score every clip, support and query alike, as that sensor model (models/sensors/)
    would deliver it, drawing its errors with ``sensor_seed``. ``behaviours``: categories normal at once
    (evaluation/fewshot.py); ``rule``: the scoring rule, by name (evaluation/scoring_rules.py); ``onnx``: embed
    through the ONNX Runtime backend at this precision (fp32, int8) instead of PyTorch.
    ``macdiff``: also score with that MacDiff checkpoint's pretrained encoder alone (its pooled
    representation of the same windows, unit length), as method ``macdiff``."""
    if rule not in RULES:
        raise ValueError(f"unknown scoring rule {rule!r}: use one of {', '.join(RULES)}")
    encoder_path = Path(encoder_path or DEFAULT_ENCODER_PATH)
    encoder, spec, meta = load_encoder(encoder_path)
    generator = None
    if augmentation is not None:
        from models.humanmac import load_humanmac

        generator = load_humanmac(humanmac)
        same_frames("HumanMAC", generator.spec, spec)
    clipset = load_dataset(dataset, data_root)
    if sensor is not None:
        _not_that_sensors_already(dataset, sensor)
    split = split_for(dataset, clipset.subjects, clipset.labels)  # a file named msr.npz is no benchmark
    unseen = unseen_categories(dataset)
    tw = eval_windows(clipset, split, spec, sensor_windows(sensor, spec.fps, sensor_seed) if sensor else None)
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "encoder": encoder_embed_fn(encoder) if onnx is None else _onnx_embed_fn(encoder_path, onnx),
        "raw-dct": raw_dct_features(meta["encoder"]["dct_m"]),
    }
    if macdiff is not None:
        from models.macdiff import load_macdiff

        pretrained = load_macdiff(macdiff)
        same_frames("MacDiff", pretrained.spec, spec)
        methods["macdiff"] = pretrained.embed_fn()
    variants = None
    if augmentation is not None and generator is not None:
        variants = AugmentationBank(cache_dir).load_or_build(tw.windows, generator, augmentation)
    results: dict[str, MethodResult] = {}
    by_view_pair: dict[str, dict[str, float]] = {}
    for name, fn in methods.items():
        emb = embed_all(fn, tw.windows)
        var_emb = embed_variants(fn, variants) if variants is not None and name == "encoder" else None
        results[name], per_view_pair = evaluate_dataset(
            tw,
            emb,
            shots=shots,
            seeds=seeds,
            variant_embeddings=var_emb,
            behaviours=behaviours,
            rule=RULES[rule],
        )
        if per_view_pair is not None:
            by_view_pair[name] = per_view_pair

    summary: dict[str, Any] = {
        "dataset": clipset.name,
        "shots": shots,
        "seeds": seeds,
        "behaviours": behaviours,
        "rule": rule,
        "encoder": str(encoder_path),
        "encoder_revision": meta.get("git_revision"),
        "macdiff": str(macdiff) if macdiff is not None else None,
        "support_augmentation": augmentation.describe() if augmentation is not None else None,
        "sensor": {"name": sensor, "seed": sensor_seed} if sensor else None,
        "cross_view": by_view_pair or None,
        # cross-view: the (support camera, scored camera) pairs scored, and those too sparse to score
        "camera_pairs": _camera_pairs(results["encoder"], by_view_pair),
        "window": spec.to_dict(),
        "test_clips": len(tw.labels),
        # how many clips each category's AUC stands on (cross-view: of every camera)
        "clips_per_category": dict(sorted(Counter(tw.labels).items())),
        "eval_windows": int(len(tw.windows)),
        "skipped_clips": tw.skipped,
        "short_clips": tw.short,
        "unlabelled_clips": tw.unlabelled,
        "viewless_clips": tw.viewless,
        # too few clips to draw a support set and still score one: never normal (their clips stay anomalies)
        "categories_never_normal": sorted(set(tw.labels) - set(results["encoder"].per_category)),
        "unseen_categories": None if unseen is None else sorted(unseen & set(tw.labels)),
        "methods": {k: r.summary(unseen) for k, r in results.items()},
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        pairs = {name: r.pair_means() for name, r in results.items()}
        (out_dir / "pairs.json").write_text(json.dumps(pairs, indent=1) + "\n")
        title = f"{clipset.name}, {shots}-shot" + (f", {behaviours} behaviours" if behaviours > 1 else "")
        title += ", cross-view" if by_view_pair else ""
        plot_roc(
            results, out_dir / f"roc_{clipset.name}.png", title=title + (f", {sensor}" if sensor else "")
        )
    return summary


def _camera_pairs(result: MethodResult, by_view_pair: dict[str, dict[str, float]]) -> dict[str, Any] | None:
    """How many camera pairs were scored and which were left out, with why (None: one camera). Which
    pairs can be scored depends on the clips alone, so one method's result says it for all."""
    if not by_view_pair:
        return None
    left_out = result.pairs_left_out
    return {"scored": len(by_view_pair["encoder"]), "left_out": len(left_out), "left_out_why": left_out}


# the sensor models (models/sensors/) and the clip-set layout each one's own output comes in
_SENSOR_LAYOUTS = {"mediapipe": "mediapipe33"}


def _not_that_sensors_already(dataset: str, sensor: str) -> None:
    """Refuse to simulate a sensor on a clip-set file of its own landmarks: its jitter, depth and
    hip-centring would be added twice, and the figure said to be that sensor's would be of a worse one."""
    path = Path(dataset)
    if path.suffix != ".npz" or not path.is_file():
        return  # a built-in dataset: Kinect skeletons
    with np.load(path) as arrays:
        layout = str(np.asarray(arrays["layout"]).reshape(-1)[0])
    if _SENSOR_LAYOUTS.get(sensor) == layout:
        raise ValueError(
            f"--sensor {sensor}: {path} already holds {sensor}'s landmarks (layout {layout}), its clips as "
            f"that sensor delivers them; simulating it again adds its errors twice: leave out --sensor"
        )


def sensor_windows(name: str, fps: float, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """One clip's resampled frames -> as the named sensor model would deliver them; one random
    stream for the whole evaluation, so a seed fixes every clip's errors."""
    from models.sensor import load_sensor, simulate

    model = load_sensor(name)
    rng = np.random.default_rng(seed)
    return lambda frames: simulate(frames, fps, model, rng)


def plot_roc(results: dict[str, MethodResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, r in results.items():
        auc = np.mean([np.mean(v) for v in r.per_category.values()])
        ax.plot(ROC_GRID, r.roc_tpr, label=f"{name} (mean AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def format_table(summary: dict[str, Any]) -> str:
    """Per-category AUC table (mean ± std over seeds) for every method, then the means."""
    methods = list(summary["methods"])
    cats = list(summary["methods"][methods[0]]["per_category"])
    # as wide as the longest category name or row name: a shorter one pushed its row's figures right
    width = max([len(c) for c in cats] + [len("per-category std")]) + 2
    lines = ["category".ljust(width) + "".join(f"{m:>18}" for m in methods)]
    for c in cats:
        row = summary["methods"][methods[0]]["per_category"][c]
        mark = " *" if row["unseen"] else ""  # None: not known (a user's file)
        cells = "".join(
            f"{summary['methods'][m]['per_category'][c]['auc']:>11.3f} ± {summary['methods'][m]['per_category'][c]['std']:.3f}"
            for m in methods
        )
        lines.append((c + mark).ljust(width) + cells)
    lines.append("-" * (width + 18 * len(methods)))
    for key in ("all", "seen", "unseen"):
        vals = [summary["methods"][m][key] for m in methods]
        if key != "all" and all(v is None for v in vals):  # training unknown, or no such category
            continue
        lines.append(
            key.ljust(width) + "".join(f"{v:>18.3f}" if v is not None else f"{'-':>18}" for v in vals)
        )
    for key, name in (("std_over_seeds", "std over seeds"), ("mean_category_std", "per-category std")):
        lines.append(name.ljust(width) + "".join(f"{summary['methods'][m][key]:>18.3f}" for m in methods))
    if any(row["unseen"] for row in summary["methods"][methods[0]]["per_category"].values()):
        lines.append("(* = category never seen in training)")
    if summary.get("behaviours", 1) > 1:
        lines.append(
            f"normal = each category with {summary['behaviours'] - 1} other{'s' if summary['behaviours'] > 2 else ''} "
            f"drawn per seed (a profile of "
            f"{summary['behaviours']} behaviours); every other category is abnormal"
        )
    lines.append(f"scoring rule: {summary.get('rule', DEFAULT_RULE)}")
    if summary.get("skipped_clips"):
        lines.append(f"{summary['skipped_clips']} clip(s) left out: {NO_WINDOW}")
    if summary.get("unlabelled_clips"):
        lines.append(f"{summary['unlabelled_clips']} clip(s) without a label left out (no category)")
    if summary.get("viewless_clips"):
        lines.append(
            f'{summary["viewless_clips"]} clip(s) without a camera (views "") left out of the cross-view protocol'
        )
    if summary.get("short_clips"):
        lines.append(f"{summary['short_clips']} clip(s) {SHORT_CLIP}")
    if summary.get("categories_never_normal"):
        # cross-view, a category of many clips is never normal when they are all one camera's
        why = (
            f"no camera has {summary['shots']} of its clips while another has one to score"
            if summary.get("cross_view")
            else f"fewer than {summary['shots']} + 1 clips"
        )
        lines.append(
            f"never normal ({why}; scored as anomalies only): "
            + ", ".join(summary["categories_never_normal"])
        )
    if summary.get("cross_view"):
        lines.append("cross-view: support from one camera, queries from another; mean AUC per pair:")
        for m, pairs in summary["cross_view"].items():
            lines.append(f"  {m}: " + ", ".join(f"{p} {auc:.3f}" for p, auc in pairs.items()))
        left_out = summary.get("camera_pairs") or {}
        if left_out.get("left_out"):
            lines.append(
                f"  {left_out['left_out']} of {left_out['left_out'] + left_out['scored']} camera pairs left "
                f"out, too few clips to score (why: camera_pairs in summary.json): "
                + ", ".join(left_out["left_out_why"])
            )
    if summary.get("sensor"):
        lines.append(
            f"every clip as the {summary['sensor']['name']} sensor model delivers it (seed {summary['sensor']['seed']})"
        )
    aug = summary.get("support_augmentation")
    if aug:
        lines.append(
            f"encoder support sets + {aug['n_g']} HumanMAC completions per window "
            f"({aug['observed']} frames observed, generated {'at the end' if aug['gap'] == 'end' else 'in the middle'}, "
            f"{aug['steps']} DDIM steps)"
        )
    hardest = summary["methods"][methods[0]]["hardest_pairs"]
    lines.append(f"hardest (normal, anomaly) pairs for {methods[0]}, pair AUC:")
    lines += [f"  {p['normal']} vs {p['anomaly']}: {p['auc']:.3f}" for p in hardest]
    return "\n".join(lines)
