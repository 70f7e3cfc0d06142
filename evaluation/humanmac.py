"""``haad eval humanmac``: how well HumanMAC continues held-out motion, against two naive predictors.

Data: every window (the spec's clip stride) of every Kinder-Gator clip of the **test** participants,
all categories, unseen ones included. Each window's first ``observed`` frames are given and the rest
is predicted (``gap="middle"``: half of them at each end are given and the motion between them is
generated, against linear interpolation). Metrics, all over the generated frames only:

* ADE / FDE: mean per-joint Euclidean distance to the true continuation over all predicted frames /
  at the last frame; for HumanMAC the best of its N_g samples (each metric minimised separately, as in
  HumanMAC's paper) and, for reference, the mean over samples. Reported in torso units (the windows'
  normalised scale) and approximately in metres (each window's error times its median
  HipCenter->ShoulderCenter length in metres).
* APD: mean pairwise distance between a window's samples, as the L2 norm of the flattened
  difference of their predicted frames (HumanMAC's definition), torso units.
* bone drift: mean relative deviation of predicted frames' bone lengths from the observed frames'
  mean bone lengths (the true continuation's own drift is given: the sensor's bones are not rigid).
* motion: mean per-joint displacement over 5 frames (0.25 s) within the predicted frames, over all
  samples, beside the true continuation's. ADE rewards predictions that slow down (a motion's mean
  future is stiller than any real one), so a sampler tuned on ADE alone can produce completions with a
  fraction of real movement; as contrastive positives those teach the encoder to ignore how much a
  body moves (docs/experiments/2026-11-29-humanmac-augmentation-ablation.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from config.completions import CompletionSettings
from models import skeleton
from models.humanmac import HumanMAC
from models.humanmac.sampler import known_frames, pad_unknown
from models.preprocess import ClipError, WindowSpec, clip_frames, cut_windows, normalise_windows
from training.augbank import generate_in_chunks
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR, MSR, SPLITS, Split, split_for


@dataclass(frozen=True)
class HeldOutWindows:
    """windows ``(N, F, J, 3)`` normalised; torso_m ``(N,)`` metres per torso unit; labels ``(N,)``."""

    windows: np.ndarray
    torso_m: np.ndarray
    labels: np.ndarray


def held_out_split(dataset: str, data_root: str | None, model: str) -> Split:
    """Kinder-Gator's or MSR's test people, or every person of a user's clip-set file (``model``
    names what is evaluated, for the refusal of another dataset)."""
    if dataset in (KINDER_GATOR.dataset, MSR.dataset):
        return SPLITS[dataset]
    if not dataset.endswith(".npz"):
        raise ValueError(
            f"{model} is evaluated on kinder-gator, msr or a clip-set .npz file; got {dataset!r}"
        )
    clips = load_dataset(dataset, data_root)
    return split_for(dataset, clips.subjects, clips.labels)


def held_out_windows(
    split: Split, spec: WindowSpec, data_root: str | None = None, max_windows: int | None = None
) -> HeldOutWindows:
    """Windows of the split's test participants (every category), with their torso lengths; at most
    ``max_windows`` of them, taken evenly (so from every clip)."""
    windows, torso, labels = [], [], []
    for c in load_dataset(split.dataset, data_root).clips:
        if c.subject not in split.test_subjects:
            continue
        try:
            raw = cut_windows(clip_frames(c.joints, c.times, spec), spec)
        except ClipError:
            continue
        windows.append(normalise_windows(raw, spec))
        # normalise_windows divides by this median when spec.scale; otherwise units are metres already
        torso.append(np.median(skeleton.torso_length(raw), axis=1) if spec.scale else np.ones(len(raw)))
        labels += [c.label] * len(raw)
    if not windows:
        raise ValueError(f"{split.dataset}: no clip of its test people gives a window (all empty or NaN)")
    data = HeldOutWindows(np.concatenate(windows), np.concatenate(torso).astype(np.float32), np.array(labels))
    if max_windows is None or max_windows >= len(data.windows):
        return data
    keep = np.linspace(0, len(data.windows) - 1, max_windows).round().astype(int)
    return HeldOutWindows(data.windows[keep], data.torso_m[keep], data.labels[keep])


def held_out_summary(split: Split, data: HeldOutWindows) -> dict[str, Any]:
    """What a summary was measured on: the dataset, its test people, windows and categories."""
    return {
        "dataset": split.dataset,
        "test_subjects": sorted(split.test_subjects),
        "windows": int(len(data.windows)),
        "categories": int(len(set(data.labels.tolist()))),
    }


def naive_predictions(windows: np.ndarray, known: np.ndarray) -> dict[str, np.ndarray]:
    """``(N, F, J, 3)`` -> ``{name: (N, 1, F, J, 3)}``, ``known`` ``(F,)`` frames kept, the rest
    filled: with the gap at the end by repeating the last observed pose or continuing its velocity,
    with a gap in the middle by linear interpolation between the poses around it."""
    filled = pad_unknown(torch.from_numpy(np.ascontiguousarray(windows)), known).numpy()
    if known[-1]:
        return {"linear-interpolation": filled[:, None]}
    observed = int(known.sum())
    last, before = windows[:, observed - 1], windows[:, observed - 2]
    steps = np.arange(1, len(known) - observed + 1, dtype=np.float32)[None, :, None, None]
    velocity = np.concatenate(
        [windows[:, :observed], last[:, None] + steps * (last - before)[:, None]], axis=1
    )
    return {"repeat-last": filled[:, None], "constant-velocity": velocity[:, None]}


def displacement_errors(
    pred: np.ndarray, truth: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ADE and FDE (at the last generated frame) of each sample: ``(N, S, F, J, 3)`` vs
    ``(N, F, J, 3)`` -> two ``(N, S)``."""
    dist = np.linalg.norm(pred[:, :, ~known] - truth[:, None, ~known], axis=-1).mean(axis=-1)  # (N, S, P)
    return dist.mean(axis=-1), dist[..., -1]


def frame_errors(pred: np.ndarray, truth: np.ndarray, known: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Mean per-joint error at each generated frame of sample ``sample[i]`` of window ``i`` -> ``(P,)``."""
    chosen = pred[np.arange(len(pred)), sample][:, ~known]  # (N, P, J, 3)
    return np.linalg.norm(chosen - truth[:, ~known], axis=-1).mean(axis=(0, 2))


def average_pairwise_distance(pred: np.ndarray, known: np.ndarray) -> np.ndarray:
    """APD per window: ``(N, S, F, J, 3)`` -> ``(N,)`` (needs S >= 2)."""
    n, s = pred.shape[:2]
    flat = pred[:, :, ~known].reshape(n, s, -1)
    d = np.linalg.norm(flat[:, :, None] - flat[:, None], axis=-1)  # (N, S, S)
    return d.sum(axis=(1, 2)) / (s * (s - 1))


def bone_drift(pred: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Mean relative bone-length deviation of generated frames from the observed frames' mean.

    ``(N, S, F, J, 3)`` -> ``(N,)``; bones shorter than 1e-3 in the observation are ignored.
    """
    bones = skeleton.bone_lengths(pred)  # (N, S, F, B)
    ref = bones[:, :, known].mean(axis=2, keepdims=True)
    valid = ref > 1e-3
    rel = np.abs(bones[:, :, ~known] - ref) / np.where(valid, ref, 1.0)
    return (rel * valid).sum(axis=(1, 2, 3)) / np.maximum(valid.sum(axis=(1, 2, 3)) * rel.shape[2], 1)


MOTION_LAG = 5


def motion(pred: np.ndarray, known: np.ndarray, lag: int = MOTION_LAG) -> np.ndarray:
    """Mean per-joint displacement over ``lag`` frames within the generated frames (one run of
    frames, at the end or in the middle), averaged over samples: ``(N, S, F, J, 3)`` -> ``(N,)``."""
    future = pred[:, :, ~known]
    return np.linalg.norm(future[:, :, lag:] - future[:, :, :-lag], axis=-1).mean(axis=(1, 2, 3))


def method_metrics(pred: np.ndarray, data: HeldOutWindows, known: np.ndarray) -> dict[str, Any]:
    ade, fde = displacement_errors(pred, data.windows, known)
    best_ade, best_fde = ade.min(axis=1), fde.min(axis=1)
    out: dict[str, Any] = {
        "ade": float(best_ade.mean()),
        "fde": float(best_fde.mean()),
        "ade_m": float((best_ade * data.torso_m).mean()),
        "fde_m": float((best_fde * data.torso_m).mean()),
        "bone_drift": float(bone_drift(pred, known).mean()),
        "motion": float(motion(pred, known).mean()),
        # Error at each generated frame of the sample with the best ADE: where a predictor goes astray.
        "frame_error": [
            round(float(e), 4) for e in frame_errors(pred, data.windows, known, ade.argmin(axis=1))
        ],
    }
    if pred.shape[1] > 1:
        out["ade_sample_mean"] = float(ade.mean())
        out["fde_sample_mean"] = float(fde.mean())
        out["apd"] = float(average_pairwise_distance(pred, known).mean())
    return out


def evaluate_humanmac(
    model: HumanMAC,
    completions: CompletionSettings,
    *,
    seed: int = 0,
    dataset: str = KINDER_GATOR.dataset,
    max_windows: int | None = None,
    data_root: str | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Metrics of HumanMAC, the naive predictors and the true continuation; writes
    ``humanmac_eval.json`` and ``humanmac_examples.png`` to ``out_dir`` when given."""
    split = held_out_split(dataset, data_root, "HumanMAC")
    data = held_out_windows(split, model.spec, data_root, max_windows)
    c = completions
    known = known_frames(data.windows.shape[1], c.observed, c.gap)
    generated = generate_in_chunks(model, data.windows, c, seed=seed, progress=progress)
    methods = {"humanmac": method_metrics(generated, data, known)}
    for name, pred in naive_predictions(data.windows, known).items():
        methods[name] = method_metrics(pred, data, known)
    summary: dict[str, Any] = {
        **held_out_summary(split, data),
        "samples": c.n_g,
        "observed": c.observed,
        "gap": c.gap,
        "predicted": int(data.windows.shape[1] - c.observed),
        "steps": c.steps,
        **c.sampler.model_dump(),  # start, temperature, refine, eta
        "seed": seed,
        "model_revision": model.meta.get("git_revision"),
        "model_fingerprint": model.fingerprint,
        "mean_torso_m": float(data.torso_m.mean()),
        "true_continuation_bone_drift": float(bone_drift(data.windows[:, None], known).mean()),
        "true_continuation_motion": float(motion(data.windows[:, None], known).mean()),
        "methods": methods,
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "humanmac_eval.json").write_text(json.dumps(summary, indent=2) + "\n")
        plot_examples(data, generated, known, out_dir / "humanmac_examples.png")
    return summary


def format_table(summary: dict[str, Any]) -> str:
    head = (
        f"HumanMAC on {summary['dataset']} test participants: {summary['windows']} windows, "
        f"{summary['observed']} observed -> {summary['predicted']} generated frames "
        f"({'at the end' if summary['gap'] == 'end' else 'in the middle'}), "
        f"best of {summary['samples']}, {summary['steps']} DDIM steps, eta {summary['eta']}, "
        f"start {summary['start']}, temperature {summary['temperature']}, refine {summary['refine']}"
    )
    rows = [
        f"{'method':<18} {'ADE':>7} {'FDE':>7} {'ADE m':>7} {'FDE m':>7} {'APD':>7} {'bones':>7} {'motion':>7}"
    ]
    true_motion = summary["true_continuation_motion"]
    for name, m in summary["methods"].items():
        apd = f"{m['apd']:7.3f}" if "apd" in m else f"{'-':>7}"
        rows.append(
            f"{name:<18} {m['ade']:7.3f} {m['fde']:7.3f} {m['ade_m']:7.3f} {m['fde_m']:7.3f} {apd} "
            f"{m['bone_drift']:7.3f} {m['motion'] / true_motion:7.2f}"
        )
    hm = summary["methods"]["humanmac"]
    marks = [k for k in (1, 3, 6, 11, 21, 30) if k <= summary["predicted"]]
    rows.append(f"error at generated frame {', '.join(map(str, marks))} (best sample):")
    rows += [
        f"  {name:<18}" + " ".join(f"{m['frame_error'][k - 1]:6.3f}" for k in marks)
        for name, m in summary["methods"].items()
    ]
    notes = (
        f"ADE/FDE in torso units (m: x each window's torso length, mean {summary['mean_torso_m']:.3f} m); "
        f"HumanMAC mean over samples: ADE {hm.get('ade_sample_mean', hm['ade']):.3f}, "
        f"FDE {hm.get('fde_sample_mean', hm['fde']):.3f}; bones = relative bone-length drift "
        f"(true continuation: {summary['true_continuation_bone_drift']:.3f}); motion = movement over "
        f"{MOTION_LAG} predicted frames relative to the true continuation's ({true_motion:.3f})"
    )
    return "\n".join([head, *rows, notes])


def plot_examples(
    data: HeldOutWindows, generated: np.ndarray, known: np.ndarray, path: Path, examples: int = 3
) -> None:
    """Skeleton strips (front view) of the windows with the most true motion over the generated
    frames, among those whose bones stay steadier than the median: the real window, then two
    generated ones; observed frames grey, generated ones coloured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gap = np.flatnonzero(~known)
    before = max(gap[0] - 1, 0)
    moved = np.linalg.norm(data.windows[:, gap[-1]] - data.windows[:, before], axis=-1).mean(axis=-1)
    # Sensor glitches (a skeleton that jumps or stretches) move most of all: show steady skeletons.
    drift = bone_drift(data.windows[:, None], known)
    moved[drift > np.median(drift)] = -np.inf
    picks = np.argsort(moved)[::-1][:examples]
    rows = [(i, s) for i in picks for s in (None, 0, 1) if s is None or s < generated.shape[1]]
    frames = np.arange(0, data.windows.shape[1], 6)
    fig, axes = plt.subplots(len(rows), 1, figsize=(len(frames) * 0.9, 1.5 * len(rows)), squeeze=False)
    lows, highs = [], []
    for ax, (i, s) in zip(axes[:, 0], rows, strict=True):
        seq = data.windows[i] if s is None else generated[i, s]
        for k, f in enumerate(frames):
            pose = seq[f]
            colour = "0.6" if known[f] else ("tab:blue" if s is None else "tab:red")
            for p, c in skeleton.BONES:
                ax.plot(pose[[p, c], 0] + 1.6 * k, pose[[p, c], 1], color=colour, lw=1.2)
        low, high = ax.get_xlim()
        lows.append(low)
        highs.append(high)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(
            f"{data.labels[i]}: {'real' if s is None else f'generated #{s + 1}'}", fontsize=8, loc="left"
        )
    # One scale for every strip, so real and generated skeletons compare at a glance.
    ys = [ax.get_ylim() for ax in axes[:, 0]]
    for ax in axes[:, 0]:
        ax.set_xlim(min(lows), max(highs))
        ax.set_ylim(min(y[0] for y in ys), max(y[1] for y in ys))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
