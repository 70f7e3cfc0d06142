"""``haad train humanmac``: the denoiser of Eq. (3) on the benchmark's training windows.

Reads top to bottom: config -> seeded generators -> data -> model -> optimiser -> loop -> save.
Only train subjects and seen categories are used (training.protocol), never test participants.
The EMA copy of the weights is what gets saved and sampled.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from config.humanmac import HumanMACTrainConfig
from models import skeleton
from models.checkpoint import checkpoint_destination
from models.humanmac import HumanMAC, save_humanmac
from models.humanmac.codec import MotionCodec
from models.humanmac.network import DenoiserConfig, MotionDenoiser
from models.humanmac.scheduler import CosineDDIMScheduler, SchedulerConfig
from models.preprocess import ClipError, WindowSpec, clip_to_windows
from training.datasets import load_dataset
from training.protocol import training_split
from training.windows import window_spec


@dataclass(frozen=True)
class TrainResult:
    path: Path
    final_loss: float
    seconds: float


def training_windows(
    datasets: Sequence[str], data_root: str | None, spec: WindowSpec, stride: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Normalised windows ``(N, F, J, 3)`` of the train subjects' seen-category clips, cut every
    ``stride`` frames; plus a description of the split for the checkpoint."""
    dense = dataclasses.replace(spec, clip_stride=stride)
    windows: list[np.ndarray] = []
    split_info: dict[str, Any] = {}
    for name in datasets:
        data = load_dataset(name, data_root)
        split = training_split(name, data.subjects)
        clips = [c for c in data.clips if c.subject in split.train_subjects]
        clips = [c for c in clips if c.label not in split.unseen_labels]
        before, skipped = len(windows), 0
        for c in clips:
            try:
                windows.append(clip_to_windows(c.joints, c.times, dense))
            except ClipError:
                skipped += 1
        split_info[name] = {
            "train_subjects": sorted(split.train_subjects),
            "unseen_labels_excluded": sorted(split.unseen_labels),
            "clips": len(clips) - skipped,
            "skipped_clips": skipped,
            "windows": int(sum(len(w) for w in windows[before:])),
        }
    if not windows:
        raise ValueError(f"no training windows in {datasets}")
    return np.concatenate(windows), split_info


class LRSchedule(Protocol):
    """The settings :func:`learning_rate` reads (every generative trainer has them)."""

    @property
    def lr(self) -> float: ...
    @property
    def lr_final(self) -> float: ...
    @property
    def warmup_steps(self) -> int: ...
    @property
    def steps(self) -> int: ...


class OptimiserSettings(LRSchedule, Protocol):
    """What :func:`optimiser_step` reads besides the schedule."""

    @property
    def grad_clip(self) -> float: ...
    @property
    def ema_decay(self) -> float: ...


def learning_rate(step: int, cfg: LRSchedule) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr_final`` at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * min(progress, 1.0)))


def optimiser_step(
    loss: torch.Tensor,
    network: torch.nn.Module,
    ema: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    step: int,
    cfg: OptimiserSettings,
) -> float:
    """One step of a generative trainer: scheduled learning rate, clipped gradients, then the EMA
    (its decay warms up, so early weights do not linger); returns the loss."""
    for group in optimiser.param_groups:
        group["lr"] = learning_rate(step, cfg)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(network.parameters(), cfg.grad_clip)
    optimiser.step()
    ema_update(ema, network, min(cfg.ema_decay, (1 + step) / (10 + step)))
    return loss.item()


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)


def train_humanmac(
    cfg: HumanMACTrainConfig, *, out: Path | None = None, progress: bool = True
) -> TrainResult:
    started = time.monotonic()
    path = checkpoint_destination(Path(out or cfg.out))
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)  # initialisation
    rng = torch.Generator().manual_seed(cfg.seed)  # batches, timesteps, noise
    spec = window_spec(cfg.window)

    windows, split_info = training_windows(cfg.datasets, cfg.data_root, spec, cfg.train_stride)
    if cfg.mirror:
        windows = np.concatenate([windows, skeleton.mirror(windows)])
    data = torch.from_numpy(windows)

    codec = MotionCodec(spec.frames, skeleton.NUM_JOINTS, cfg.denoiser.tokens).fit(windows)
    network = MotionDenoiser(DenoiserConfig(features=skeleton.NUM_JOINTS * 3, **cfg.denoiser.model_dump()))
    ema = copy.deepcopy(network).requires_grad_(False)
    scheduler = CosineDDIMScheduler(SchedulerConfig(**cfg.diffusion.model_dump()))
    optimiser = torch.optim.Adam(network.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    network.train()
    losses: list[float] = []
    order = torch.randperm(len(data), generator=rng)
    cursor = 0
    bar = tqdm(range(cfg.steps), desc="train humanmac", disable=not progress, mininterval=2.0)
    for step in bar:
        if cursor + cfg.batch_size > len(order):  # a new epoch
            order, cursor = torch.randperm(len(data), generator=rng), 0
        batch = data[order[cursor : cursor + cfg.batch_size]]
        cursor += cfg.batch_size

        x0 = codec.encode(batch)  # (B, K, D)
        t = torch.randint(0, scheduler.config.train_timesteps, (len(x0),), generator=rng)
        noise = torch.randn(x0.shape, generator=rng)
        loss = F.mse_loss(network(scheduler.add_noise(x0, noise, t), t), noise)  # Eq. (3)

        losses.append(optimiser_step(loss, network, ema, optimiser, step, cfg))
        if len(losses) % 100 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-100:]):.4f}")

    final_loss = float(np.mean(losses[-200:]))
    seconds = time.monotonic() - started
    model = HumanMAC(ema, codec, scheduler, spec)
    save_humanmac(
        path,
        model,
        {
            "train_config": cfg.model_dump(),
            "data_split": split_info,
            "training_windows": len(data),
            "metrics": {"final_loss": final_loss},
            "train_seconds": round(seconds, 1),
        },
    )
    return TrainResult(path, final_loss, seconds)
