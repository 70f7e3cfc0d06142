"""``haad train ablation``: does HumanMAC augmentation pay on our benchmark? One command, every cell
trained for real with the same encoder config, splits and seeds.

* Table 3: training-time augmentation (N_g = ``table3_n_g``) × inference-time augmentation
  (``support_n_g`` completions of every support window);
* Fig. 7: N_g at training ∈ ``train_n_g`` (0 = no augmentation), no inference-time augmentation;
* Table 4: observed / predicted frames O/P of the inference-time completions, with the Table 3
  training-aug encoder.

Each cell reports the benchmark's mean AUC over categories (mean over the support-set seeds), its
spread across seeds (``std_over_seeds``) and the mean per-category spread (``mean_category_std``,
what the paper calls the standard deviation), plus seen / unseen means. Writes ``ablation.json``
and ``ablation.md`` to the output folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from config.ablation import AblationConfig
from config.loader import load_config, parse_config
from config.training import EncoderTrainConfig, GenerativeAugSettings
from evaluation.fewshot import EvalWindows, eval_windows, evaluate, unseen_categories
from models.embedding import embed_all, embed_variants
from models.encoder import encoder_embed_fn, load_encoder
from models.encoder_config import read_encoder_metadata
from models.humanmac import load_humanmac
from training.augbank import AugmentationBank, BankSettings
from training.datasets import load_dataset
from training.protocol import split_for
from training.train_encoder import train_encoder


def cell_config(base: EncoderTrainConfig, cfg: AblationConfig, n_g: int) -> EncoderTrainConfig:
    """The base encoder config with the ablation's steps and N_g (0 = no generative augmentation)."""
    generative = None
    if n_g > 0:
        generative = GenerativeAugSettings(
            model=cfg.humanmac,
            n_g=n_g,
            bank=cfg.bank.model_copy(update={"n_g": max(cfg.train_n_g)}),
            filter_encoder=cfg.filter_encoder,
            cache_dir=cfg.cache_dir,
        )
    return base.model_copy(update={"steps": cfg.steps or base.steps, "generative": generative})


def trained_with(path: Path, cell: EncoderTrainConfig) -> bool:
    """Whether ``path`` holds an encoder trained with exactly ``cell``: one of a run before the
    config changed is trained again, not reported under the new settings."""
    try:
        meta = read_encoder_metadata(path)[2]
    except (OSError, ValueError):
        return False
    return bool(meta.get("train_config") == json.loads(json.dumps(cell.model_dump())))


def run_ablation(cfg: AblationConfig, out: Path, *, progress: bool = True) -> dict[str, Any]:
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    base = load_config(cfg.encoder_config, EncoderTrainConfig)
    encoders: dict[int, Path] = {}
    for n_g in sorted({0, *cfg.train_n_g, cfg.table3_n_g}):
        path = out / "encoders" / f"ng{n_g}.safetensors"
        settings = cell_config(base, cfg, n_g)
        if not (cfg.reuse_encoders and trained_with(path, settings)):
            train_encoder(settings, out=path, progress=progress)
        encoders[n_g] = path

    clipset = load_dataset(cfg.dataset, base.data_root)
    split = split_for(cfg.dataset, clipset.subjects, clipset.labels)
    unseen = unseen_categories(cfg.dataset)  # None for a user's file, as haad eval fewshot says
    spec = load_encoder(encoders[0])[1]
    tw = eval_windows(clipset, split, spec)
    generator = load_humanmac(Path(cfg.humanmac))
    bank = AugmentationBank(cfg.cache_dir)
    support_variants = {
        o: bank.load_or_build(
            tw.windows,
            generator,
            BankSettings(completions=cfg.support.model_copy(update={"observed": o})),
            progress=progress,
        )  # float16 on disk; the encoder takes float32 chunk by chunk
        for o in sorted({*cfg.observed, cfg.support.observed})
    }

    def cell(n_g: int, observed: int | None) -> dict[str, Any]:
        return _evaluate_cell(
            encoders[n_g], tw, support_variants.get(observed) if observed else None, cfg, unseen
        )

    table3 = [
        {"train_aug": t > 0, "inference_aug": i is not None, **cell(t, i)}
        for t in (0, cfg.table3_n_g)
        for i in (None, cfg.support.observed)
    ]
    fig7 = [{"train_n_g": n, **cell(n, None)} for n in sorted({0, *cfg.train_n_g})]
    table4 = [
        {"observed": o, "predicted": spec.frames - o, **cell(cfg.table3_n_g, o)}
        for o in sorted(cfg.observed, reverse=True)
    ]
    report = {
        "dataset": clipset.name,
        "config": cfg.model_dump(),
        "encoder_config": yaml.safe_load(Path(cfg.encoder_config).read_text()),
        "seconds": round(time.monotonic() - started),
        "table3": table3,
        "fig7": fig7,
        "table4": table4,
    }
    (out / "ablation.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "ablation.md").write_text(format_markdown(report))
    return report


def _evaluate_cell(
    encoder_path: Path,
    tw: EvalWindows,
    variants: np.ndarray | None,
    cfg: AblationConfig,
    unseen: frozenset[str] | None,
) -> dict[str, Any]:
    encoder = load_encoder(encoder_path)[0]
    embed = encoder_embed_fn(encoder)
    emb = embed_all(embed, tw.windows)
    var_emb = embed_variants(embed, variants) if variants is not None else None
    s = evaluate(tw, emb, shots=cfg.shots, seeds=cfg.seeds, variant_embeddings=var_emb).summary(unseen)
    return {k: s[k] for k in ("all", "seen", "unseen", "std_over_seeds", "mean_category_std")}


def format_markdown(report: dict[str, Any]) -> str:
    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.3f}"

    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    head = ["mean AUC", "± std over seeds", "mean per-category std", "seen", "unseen"]

    def stats(c: dict[str, Any]) -> list[str]:
        return [f(c["all"]), f(c["std_over_seeds"]), f(c["mean_category_std"]), f(c["seen"]), f(c["unseen"])]

    where = "at the end of" if report["config"]["support"]["gap"] == "end" else "in the middle of"
    lines = [
        f"Dataset: {report['dataset']}; every cell trained with the same config and seeds; completions "
        f"generate the frames {where} the window.",
        "",
    ]
    lines += ["Training-time × inference-time augmentation (Table 3):", ""]
    lines += [row(["train aug", "inference aug", *head]), row(["---"] * 7)]
    lines += [
        row(["✓" if c["train_aug"] else "✗", "✓" if c["inference_aug"] else "✗", *stats(c)])
        for c in report["table3"]
    ]
    lines += ["", "N_g at training, no inference-time augmentation (Fig. 7; 0 = none):", ""]
    lines += [row(["N_g", *head]), row(["---"] * 6)]
    lines += [row([str(c["train_n_g"]), *stats(c)]) for c in report["fig7"]]
    lines += ["", "Observed / predicted frames of the inference-time completions (Table 4):", ""]
    lines += [row(["O", "P", *head]), row(["---"] * 7)]
    lines += [row([str(c["observed"]), str(c["predicted"]), *stats(c)]) for c in report["table4"]]
    return "\n".join(lines) + "\n"


def load_ablation_config(path: Path | None) -> AblationConfig:
    return load_config(path, AblationConfig) if path else parse_config("{}", AblationConfig)
