"""``haad train encoder``: contrastive training of the action encoder (Algorithm 1).

Reads top to bottom: config -> data -> each member (seeded generators -> model -> optimiser ->
loop) -> evaluate -> save.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from clips import Clip
from config.training import EncoderTrainConfig
from models.checkpoint import checkpoint_destination
from models.encoder import (
    ActionEncoder,
    Encoder,
    EncoderConfig,
    EncoderEnsemble,
    build_encoder,
    member_config,
    save_encoder,
)
from models.preprocess import WindowSpec
from training.contrastive import multi_positive_loss
from training.datasets import load_dataset
from training.generative import VariantSource
from training.protocol import training_split
from training.windows import TrainClips, WindowSampler, build_train_clips, window_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    path: Path
    metrics: dict[str, Any]
    seconds: float


def training_clips(cfg: EncoderTrainConfig) -> tuple[list[Clip], dict[str, Any]]:
    """Train-split clips of every configured dataset, minus unseen categories, and every labelled clip
    of a clip-set file (labels prefixed when there are several sources).

    ``cfg.train_subjects`` narrows the training subjects; naming one outside every dataset's
    training split (a test subject, a typo) is an error, so a budget study can never train on test
    people.
    """
    loaded = {name: load_dataset(name, cfg.data_root) for name in cfg.datasets}
    splits = {name: training_split(name, data.subjects) for name, data in loaded.items()}
    wanted = set(cfg.train_subjects or ())
    allowed: set[str] = set().union(*(split.train_subjects for split in splits.values()))
    if wanted - allowed:
        raise ValueError(
            f"train_subjects {sorted(wanted - allowed)} are not training subjects of {cfg.datasets}; "
            f"choose from {sorted(allowed)}"
        )
    clips: list[Clip] = []
    split_info: dict[str, Any] = {}
    for name, data in loaded.items():
        split = splits[name]
        subjects = split.train_subjects & wanted if wanted else split.train_subjects
        if not subjects:
            raise ValueError(f"train_subjects leave no training subject of {name}; drop it from datasets")
        # An unlabelled clip is no category's positive.
        kept = [
            c for c in data.clips if c.subject in subjects and c.label and c.label not in split.unseen_labels
        ]
        prefix = "" if len(cfg.datasets) == 1 else f"{name}:"
        clips += [Clip(c.joints, c.times, prefix + c.label, c.subject, c.name) for c in kept]
        split_info[name] = {
            "train_subjects": sorted(subjects),
            "unseen_labels_excluded": sorted(split.unseen_labels),
            "clips": len(kept),
        }
    labels = sorted({c.label for c in clips})
    if len(labels) < 2:
        raise ValueError(
            f"contrastive training needs labelled clips of at least 2 categories; {cfg.datasets} give "
            f"{labels or 'none'}"
        )
    return clips, split_info


def encoder_config(cfg: EncoderTrainConfig, spec: WindowSpec) -> EncoderConfig:
    """The architecture ``cfg`` trains, for windows of ``spec`` (canonical 20-joint skeleton)."""
    return EncoderConfig(joints=20, frames=spec.frames, **cfg.encoder.model_dump())


# Benchmark figures of a freshly trained encoder for the checkpoint's metadata (``haad train encoder``
# passes the few-shot benchmark; training itself knows no evaluation protocol).
Evaluator = Callable[[Encoder, WindowSpec], dict[str, Any]]


def train_encoder(
    cfg: EncoderTrainConfig,
    *,
    out: Path | None = None,
    variants: VariantSource | None = None,
    evaluate: Evaluator | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``cfg.encoder.members`` encoders (member k with seed ``cfg.seed + k``, each exactly as a
    one-member config with that seed would train), evaluate and save them as one checkpoint.

    Members train side by side in ``cfg.member_processes`` processes unless ``variants`` is given (a
    callable cannot cross a process boundary; the members then train one after another).
    """
    started = time.monotonic()
    path = checkpoint_destination(Path(out or cfg.out))
    torch.set_num_threads(cfg.threads)
    spec = window_spec(cfg.window)
    clips, split_info = training_clips(cfg)
    train = build_train_clips(clips, spec)
    seeds = [cfg.seed + k for k in range(cfg.encoder.members)]
    workers = min(cfg.member_processes, len(seeds))
    if workers > 1 and variants is None:
        context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            jobs = [
                pool.submit(_train_member_job, cfg, seed, train, progress, k) for k, seed in enumerate(seeds)
            ]
            trained = [job.result() for job in jobs]
    else:
        trained = []
        for seed in seeds:
            alone, info = train_member(cfg, seed, train, variants=variants, progress=progress)
            trained.append((alone.state_dict(), info))

    encoder = build_encoder(encoder_config(cfg, spec))
    members = list(encoder.members) if isinstance(encoder, EncoderEnsemble) else [encoder]
    for member, (state, _) in zip(members, trained, strict=True):
        member.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    encoder.eval()
    infos = [info for _, info in trained]
    metrics: dict[str, Any] = {"final_loss": float(np.mean([i["final_loss"] for i in infos]))}
    if len(infos) > 1:
        metrics["members"] = infos
    elif "augmentation_bank" in infos[0]:
        metrics["augmentation_bank"] = infos[0]["augmentation_bank"]
    if evaluate is not None:
        metrics["fewshot"] = evaluate(encoder, spec)
    seconds = time.monotonic() - started
    save_encoder(
        path,
        encoder,
        spec,
        {
            "train_config": cfg.model_dump(),
            "data_split": split_info,
            "categories": list(train.label_names),
            "metrics": metrics,
            "train_seconds": round(seconds, 1),
        },
    )
    return TrainResult(path, metrics, seconds)


def train_member(
    cfg: EncoderTrainConfig,
    seed: int,
    train: TrainClips,
    *,
    variants: VariantSource | None = None,
    progress: bool = True,
    position: int = 0,
) -> tuple[ActionEncoder, dict[str, Any]]:
    """One encoder trained on ``train`` with ``seed`` -> (encoder in eval mode, facts for the metadata)."""
    started = time.monotonic()
    cfg = cfg.model_copy(update={"seed": seed})
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = window_spec(cfg.window)
    sampler = WindowSampler(train, spec, cfg.augment, cfg.per_category, rng, cfg.sensor)
    info: dict[str, Any] = {"seed": seed}
    if variants is None and cfg.generative is not None:
        variants, info["augmentation_bank"] = generative_source(cfg, train, spec, progress)
    macdiff = None
    if cfg.macdiff_augment is not None:
        from training.macdiff_aug import macdiff_augmenter

        macdiff = macdiff_augmenter(cfg.macdiff_augment, spec, seed)

    encoder = ActionEncoder(member_config(encoder_config(cfg, spec)))
    optimiser = torch.optim.Adam(encoder.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    final = cfg.lr_final / cfg.lr
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 1.0 + (final - 1.0) * min(step / max(cfg.steps - 1, 1), 1.0)
    )

    encoder.train()
    losses: list[float] = []
    desc = "train encoder" if cfg.encoder.members == 1 else f"train member {position} (seed {seed})"
    bar = tqdm(range(cfg.steps), desc=desc, disable=not progress, mininterval=2.0, position=position)
    parent = multiprocessing.parent_process()  # set in a worker process of an ensemble's training
    for step in bar:
        if parent is not None and step % 50 == 0 and not parent.is_alive():
            # An exception would go back to the pool's worker loop, which then waits forever for
            # work from a parent that is gone: leave the process instead.
            log.error("member %d (seed %d): the training process is gone; stopping", position, seed)
            os._exit(1)
        windows, labels, clip_idx, centres = sampler.sample()
        if variants is not None:
            gen = variants(clip_idx, centres, rng)  # (B, N_g, F, J, 3)
            windows = np.concatenate([windows, gen.reshape(-1, *windows.shape[1:])])
            labels = np.concatenate([labels, np.repeat(labels, gen.shape[1])])
        if macdiff is not None:
            windows, labels = macdiff(windows, labels, rng)
        z = encoder(torch.from_numpy(windows))
        loss = multi_positive_loss(z, torch.from_numpy(labels), cfg.temperature, cfg.positives)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if len(losses) % 50 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    encoder.eval()
    info["final_loss"] = float(np.mean(losses[-50:]))
    info["seconds"] = round(time.monotonic() - started, 1)
    return encoder, info


def _train_member_job(
    cfg: EncoderTrainConfig, seed: int, train: TrainClips, progress: bool, position: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """:func:`train_member` in a worker process; weights travel back as numpy arrays (plain pickles,
    not torch's shared-memory handles)."""
    encoder, info = train_member(cfg, seed, train, progress=progress, position=position)
    return {k: v.numpy() for k, v in encoder.state_dict().items()}, info


def generative_source(
    cfg: EncoderTrainConfig, train: TrainClips, spec: WindowSpec, progress: bool
) -> tuple[VariantSource, dict[str, Any]]:
    """The configured HumanMAC bank as a variant source (the bank is built once, then cached), and
    facts about it for the checkpoint's metadata."""
    from models.humanmac import load_humanmac
    from training.generative import bank_variant_source

    assert cfg.generative is not None
    generator = load_humanmac(Path(cfg.generative.model))
    if generator.spec != spec:
        raise ValueError(f"HumanMAC was trained on windows {generator.spec}, the encoder uses {spec}")
    return bank_variant_source(
        train, spec, cfg.generative, cfg.augment, generator, seed=cfg.seed, progress=progress
    )
