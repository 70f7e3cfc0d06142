"""``haad eval macdiff``: masked-joint reconstruction and label-preserving augmentation, on windows
of the Kinder-Gator (or MSR) **test** participants, every category.

* Reconstruction: in every window, ``dropouts`` joints (never HipCenter, the windows' origin) go
  missing for a random run of 5-25 frames (0.25-1.25 s) inside the window, as MediaPipe's
  low-visibility joints do. Filled by the runtime's linear gap filling (``models.preprocess.fill_gaps``)
  and by MacDiff (DDIM from pure noise, and SDEdit-style from the linear filling noised to 0.3 T);
  error = mean per-joint distance to the true joints over the missing ones (torso units, and metres).
* Augmentation consistency: the share of generated windows whose nearest category centroid of the
  real windows, under the bundled encoder, is their source's own (``training.generative``): MacDiff's
  one-step variants at each ``t_s`` against HumanMAC in-betweens (its default completion settings)
  of the very same windows; the real windows' own share is given for scale.
* A figure of a few real windows and two one-step variants of each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from config.completions import CompletionSettings
from evaluation.humanmac import HeldOutWindows, held_out_split, held_out_summary, held_out_windows
from models import skeleton
from models.encoder import encoder_embed_fn, load_encoder
from models.humanmac import HumanMAC
from models.macdiff import MacDiff
from models.preprocess import fill_gaps
from training.augbank import generate_in_chunks
from training.generative import consistent_variants
from training.protocol import KINDER_GATOR

MIN_RUN, MAX_RUN = 5, 25


def simulate_dropouts(shape: tuple[int, ...], dropouts: int, rng: np.random.Generator) -> np.ndarray:
    """``known`` ``(N, F, J)`` bool for windows of ``shape`` ``(N, F, J, 3)``: per window, ``dropouts``
    distinct joints (not the root) each missing over one run of 5-25 frames that starts and ends
    inside the window (so the linear filling has poses on both sides)."""
    n, f, j = shape[:3]
    known = np.ones((n, f, j), dtype=bool)
    for i in range(n):
        for joint in rng.choice(np.arange(1, j), size=dropouts, replace=False):
            length = int(rng.integers(MIN_RUN, MAX_RUN + 1))
            start = int(rng.integers(1, f - length))
            known[i, start : start + length, joint] = False
    return known


def linear_fill(windows: np.ndarray, known: np.ndarray, fps: float) -> np.ndarray:
    """The runtime's gap filling (per joint, linear in time) of every window's unknown joints."""
    times = np.arange(windows.shape[1]) / fps
    out = np.where(known[..., None], windows, np.nan).astype(np.float32)
    return np.stack([fill_gaps(w, times, max_gap_s=np.inf)[0] for w in out])


def joint_error(pred: np.ndarray, truth: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Mean distance over each window's unknown joints: ``(N, F, J, 3)`` x2 -> ``(N,)``."""
    d = np.linalg.norm(pred - truth, axis=-1) * ~known
    return d.sum(axis=(1, 2)) / np.maximum((~known).sum(axis=(1, 2)), 1)


def reconstruction(
    model: MacDiff, data: HeldOutWindows, *, dropouts: int, steps: int, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    known = simulate_dropouts(data.windows.shape, dropouts, rng)
    linear = linear_fill(data.windows, known, model.spec.fps)
    gen = torch.Generator().manual_seed(seed)
    preds = {
        "linear": linear,
        "macdiff": model.reconstruct(data.windows, known, steps=steps, generator=gen),
        "macdiff-from-linear": model.reconstruct(
            data.windows, known, steps=steps, start=0.3, guess=linear, generator=gen
        ),
    }
    out: dict[str, Any] = {"dropouts": dropouts, "steps": steps, "missing_share": float(1 - known.mean())}
    for name, pred in preds.items():
        err = joint_error(pred, data.windows, known)
        out[name] = {"error": float(err.mean()), "error_m": float((err * data.torso_m).mean())}
    return out


def change(variants: np.ndarray, windows: np.ndarray) -> float:
    """Mean per-joint distance of variants ``(N, S, F, J, 3)`` from their windows ``(N, F, J, 3)``
    (torso units): a share of own-category variants means little for variants that hardly move."""
    return float(np.linalg.norm(variants - windows[:, None], axis=-1).mean())


def consistency(
    model: MacDiff,
    humanmac: HumanMAC | None,
    data: HeldOutWindows,
    *,
    t_s: list[int],
    samples: int,
    seed: int,
    encoder: Path | None,
    progress: bool,
) -> tuple[dict[str, Any], np.ndarray]:
    """Shares of own-category variants; also MacDiff's variants at the first ``t_s`` (for the figure)."""
    enc, spec, _ = load_encoder(encoder)
    if spec.frames != model.spec.frames:
        raise ValueError(f"the encoder reads {spec.frames}-frame windows, MacDiff {model.spec.frames}")
    embed = encoder_embed_fn(enc)
    _, labels = np.unique(data.labels, return_inverse=True)
    shares: dict[str, Any] = {}
    first: np.ndarray | None = None
    for t in t_s:
        gen = torch.Generator().manual_seed(seed)
        variants = np.concatenate(
            [model.augment(data.windows[i : i + 64], samples=samples, t_s=t, generator=gen)
             for i in range(0, len(data.windows), 64)]
        )  # fmt: skip
        keep, real = consistent_variants(data.windows, variants, labels, embed)
        shares[f"macdiff t_s={t}"] = {"share": float(keep.mean()), "change": change(variants, data.windows)}
        shares["real windows"] = {"share": real, "change": 0.0}
        first = variants if first is None else first
    if humanmac is not None:
        settings = CompletionSettings(n_g=samples)
        variants = generate_in_chunks(humanmac, data.windows, settings, seed=seed, progress=progress)
        keep = consistent_variants(data.windows, variants, labels, embed)[0]
        shares[f"humanmac {settings.gap} O={settings.observed}"] = {
            "share": float(keep.mean()),
            "change": change(variants, data.windows),
        }
    assert first is not None
    return shares, first


def evaluate_macdiff(
    model: MacDiff,
    humanmac: HumanMAC | None,
    *,
    dataset: str = KINDER_GATOR.dataset,
    max_windows: int | None = 256,
    dropouts: int = 3,
    steps: int = 20,
    t_s: list[int] | None = None,
    samples: int = 4,
    seed: int = 0,
    encoder: Path | None = None,
    data_root: str | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Both measurements on the same held-out windows; writes ``macdiff_eval.json`` and
    ``macdiff_examples.png`` to ``out_dir`` when given."""
    split = held_out_split(dataset, data_root, "MacDiff")
    data = held_out_windows(split, model.spec, data_root, max_windows)
    t_s = t_s or [300]
    shares, variants = consistency(model, humanmac, data, t_s=t_s, samples=samples, seed=seed,
                                   encoder=encoder, progress=progress)  # fmt: skip
    summary: dict[str, Any] = {
        **held_out_summary(split, data),
        "seed": seed,
        "model_revision": model.meta.get("git_revision"),
        "model_fingerprint": model.fingerprint,
        "reconstruction": reconstruction(model, data, dropouts=dropouts, steps=steps, seed=seed),
        "consistency": {"samples": samples, "shares": shares},
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "macdiff_eval.json").write_text(json.dumps(summary, indent=2) + "\n")
        plot_examples(data, variants, t_s[0], out_dir / "macdiff_examples.png")
    return summary


def format_table(summary: dict[str, Any]) -> str:
    r = summary["reconstruction"]
    rows = [
        f"MacDiff on {summary['dataset']} test participants: {summary['windows']} windows, "
        f"{summary['categories']} categories",
        f"reconstruction of {r['dropouts']} joints missing for 5-25 frames per window "
        f"({100 * r['missing_share']:.1f}% of joint-frames), MacDiff {r['steps']} DDIM steps:",
        f"  {'method':<22} {'error':>7} {'error m':>8}",
    ]
    rows += [
        f"  {name:<22} {m['error']:7.3f} {m['error_m']:8.3f}" for name, m in r.items() if isinstance(m, dict)
    ]
    c = summary["consistency"]
    rows.append(f"variants nearest their own category (bundled encoder), {c['samples']} per window:")
    rows.append(f"  {'generator':<28} {'share':>6} {'change':>7}")
    rows += [f"  {name:<28} {m['share']:6.1%} {m['change']:7.3f}" for name, m in c["shares"].items()]
    rows.append("  change: mean per-joint distance of a variant from its window (torso units)")
    return "\n".join(rows)


def plot_examples(
    data: HeldOutWindows, variants: np.ndarray, t_s: int, path: Path, examples: int = 3
) -> None:
    """Skeleton strips (front view) of the windows that move most: the real window (blue), then two
    of its one-step variants (red), on one scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    moved = np.linalg.norm(np.diff(data.windows, axis=1), axis=-1).mean(axis=(1, 2))
    picks = np.argsort(moved)[::-1][:examples]
    rows = [(i, s) for i in picks for s in (None, 0, 1) if s is None or s < variants.shape[1]]
    frames = np.arange(0, data.windows.shape[1], 6)
    fig, axes = plt.subplots(len(rows), 1, figsize=(len(frames) * 0.9, 1.5 * len(rows)), squeeze=False)
    for ax, (i, s) in zip(axes[:, 0], rows, strict=True):
        seq = data.windows[i] if s is None else variants[i, s]
        for k, f in enumerate(frames):
            for p, c in skeleton.BONES:
                ax.plot(seq[f, [p, c], 0] + 1.6 * k, seq[f, [p, c], 1],
                        color="tab:blue" if s is None else "tab:red", lw=1.2)  # fmt: skip
        ax.set_aspect("equal")
        ax.axis("off")
        title = "real" if s is None else f"one-step denoised from t_s={t_s}, #{s + 1}"
        ax.set_title(f"{data.labels[i]}: {title}", fontsize=8, loc="left")
    xs, ys = [ax.get_xlim() for ax in axes[:, 0]], [ax.get_ylim() for ax in axes[:, 0]]
    for ax in axes[:, 0]:
        ax.set_xlim(min(x[0] for x in xs), max(x[1] for x in xs))
        ax.set_ylim(min(y[0] for y in ys), max(y[1] for y in ys))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
