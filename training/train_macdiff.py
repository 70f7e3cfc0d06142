"""``haad train macdiff``: MacDiff pretraining (Sec. 3.2) on the benchmark's training windows.

Reads top to bottom: config -> seeded generators -> data -> model -> optimiser -> loop -> save.
Windows come from the train subjects' seen-category clips of every dataset named (the split helper
HumanMAC training uses), never from test participants; labels are never read. The EMA copy of the
weights is what gets saved and used.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from config.macdiff import MacDiffTrainConfig
from models import skeleton
from models.checkpoint import checkpoint_destination
from models.humanmac.scheduler import CosineDDIMScheduler, SchedulerConfig
from models.macdiff import MacDiff, save_macdiff
from models.macdiff.model import Standardiser
from models.macdiff.network import MacDiffConfig, MacDiffNetwork
from models.macdiff.patches import random_keep
from training.train_humanmac import optimiser_step, training_windows
from training.windows import window_spec


@dataclass(frozen=True)
class TrainResult:
    path: Path
    final_loss: float
    seconds: float


def diffusion_loss(
    network: MacDiffNetwork,
    scheduler: CosineDDIMScheduler,
    x0: torch.Tensor,
    *,
    encoder_noise: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """The conditional ε-prediction loss on standardised windows ``x0`` ``(B, F, J, 3)``: the encoder
    sees a random ``1 - r`` of the (slightly noised) tokens, the decoder predicts the noise in ``x_t``
    given their filled representation, dropped to the null condition with probability ``cond_dropout``."""
    c = network.config
    keep = random_keep(len(x0), c.tokens, c.mask_ratio, generator=generator)
    seen = x0 + encoder_noise * torch.randn(x0.shape, generator=generator)
    z = network.drop_condition(network.condition(seen, keep), c.cond_dropout, generator)
    t = torch.randint(0, scheduler.config.train_timesteps, (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    return F.mse_loss(network.decoder(scheduler.add_noise(x0, noise, t), t, z), noise)


def train_macdiff(cfg: MacDiffTrainConfig, *, out: Path | None = None, progress: bool = True) -> TrainResult:
    started = time.monotonic()
    path = checkpoint_destination(Path(out or cfg.out))
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)  # initialisation
    rng = torch.Generator().manual_seed(cfg.seed)  # batches, masks, timesteps, noise
    spec = window_spec(cfg.window)

    windows, split_info = training_windows(cfg.datasets, cfg.data_root, spec, cfg.train_stride)
    if cfg.mirror:
        windows = np.concatenate([windows, skeleton.mirror(windows)])
    scaler = Standardiser(skeleton.NUM_JOINTS).fit(windows)
    data = scaler.encode(torch.from_numpy(windows))

    config = MacDiffConfig(frames=spec.frames, joints=skeleton.NUM_JOINTS, **cfg.network.model_dump())
    network = MacDiffNetwork(config)
    ema = copy.deepcopy(network).requires_grad_(False)
    scheduler = CosineDDIMScheduler(SchedulerConfig(**cfg.diffusion.model_dump()))
    optimiser = torch.optim.AdamW(network.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    noise = cfg.encoder_noise / float(scaler.scale)  # torso units -> standardised units

    network.train()
    losses: list[float] = []
    order, cursor = torch.randperm(len(data), generator=rng), 0
    bar = tqdm(range(cfg.steps), desc="train macdiff", disable=not progress, mininterval=2.0)
    for step in bar:
        if cursor + cfg.batch_size > len(order):  # a new epoch
            order, cursor = torch.randperm(len(data), generator=rng), 0
        x0 = data[order[cursor : cursor + cfg.batch_size]]
        cursor += cfg.batch_size
        loss = diffusion_loss(network, scheduler, x0, encoder_noise=noise, generator=rng)

        losses.append(optimiser_step(loss, network, ema, optimiser, step, cfg))
        if len(losses) % 50 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")

    final_loss = float(np.mean(losses[-200:]))
    seconds = time.monotonic() - started
    save_macdiff(
        path,
        MacDiff(ema, scaler, scheduler, spec),
        {
            "train_config": cfg.model_dump(),
            "data_split": split_info,
            "training_windows": len(data),
            "parameters": sum(p.numel() for p in network.parameters()),
            "metrics": {"final_loss": final_loss},
            "train_seconds": round(seconds, 1),
        },
    )
    return TrainResult(path, final_loss, seconds)
