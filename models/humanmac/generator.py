"""The HumanMAC generator: network + codec + scheduler + window spec, loaded once per process.

``HumanMAC.generate`` is what augmentation banks, support-set augmentation and the evaluation call;
``load_humanmac`` rebuilds it from a checkpoint alone (safetensors + JSON, models.checkpoint).
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from config.completions import CompletionSettings
from models.checkpoint import load_metadata, load_state, save_checkpoint
from models.humanmac.codec import MotionCodec
from models.humanmac.network import DenoiserConfig, MotionDenoiser
from models.humanmac.sampler import complete, known_frames
from models.humanmac.scheduler import CosineDDIMScheduler, SchedulerConfig
from models.preprocess import WindowSpec
from models.skeleton import bone_lengths, with_bone_lengths

KIND = "haad.humanmac"
DEFAULT_HUMANMAC_PATH = Path(__file__).resolve().parents[1] / "weights" / "humanmac.safetensors"


class HumanMAC:
    """A trained (EMA) denoiser ready to complete windows cut by ``spec``.

    meta: the checkpoint's metadata (empty for a model built in memory).
    """

    def __init__(
        self,
        network: MotionDenoiser,
        codec: MotionCodec,
        scheduler: CosineDDIMScheduler,
        spec: WindowSpec,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if network.config.tokens != codec.tokens or network.config.features != codec.joints * 3:
            raise ValueError("the network's token shape does not match the codec's")
        if codec.frames != spec.frames:
            raise ValueError(f"codec covers {codec.frames} frames but windows have {spec.frames}")
        self.network = network.eval()
        self.codec = codec.eval()
        self.scheduler = scheduler
        self.spec = spec
        self.meta = meta or {}

    def modules(self) -> nn.ModuleDict:
        """Everything with weights or buffers, as saved in a checkpoint."""
        return nn.ModuleDict({"network": self.network, "codec": self.codec})

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the weights, buffers and configs: changes whenever the generator would."""
        h = hashlib.sha256()
        h.update(json.dumps(self.configs(), sort_keys=True).encode())
        for name, tensor in sorted(self.modules().state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    def configs(self) -> dict[str, Any]:
        return {
            "denoiser": self.network.config.to_dict(),
            "scheduler": self.scheduler.config.to_dict(),
            "codec": {"frames": self.codec.frames, "joints": self.codec.joints, "tokens": self.codec.tokens},
            "window": self.spec.to_dict(),
        }

    def generate(
        self, windows: np.ndarray, settings: CompletionSettings, *, rng: torch.Generator | None = None
    ) -> np.ndarray:
        """``settings.n_g`` completions of each normalised window ``(B, F, J, 3)`` -> ``(B, n_g, F, J, 3)``
        float32.

        ``settings.observed`` frames of every completion are exactly the input's: the first ones, or
        with ``gap="middle"`` half at each end (:mod:`models.humanmac.sampler`). ``rng`` seeds the
        noise (same rng state, same result). Pass all windows at once rather than one per call:
        every DDIM step is one network call over all ``B·n_g`` trajectories. ``sampler.start`` and
        ``sampler.temperature``: see :mod:`models.humanmac.sampler` (1 and 1 are the paper's sampler).
        ``sampler.refine``: re-anchor the generated frames on the last observed pose (see the sampler)
        and keep bone lengths (:func:`rigid_bones`); off: the raw 20-frequency completions.
        """
        w = np.asarray(windows, dtype=np.float32)
        if w.ndim != 4 or w.shape[1:] != (self.codec.frames, self.codec.joints, 3):
            raise ValueError(
                f"windows must have shape (B, {self.codec.frames}, {self.codec.joints}, 3); got {w.shape}"
            )
        if not np.isfinite(w).all():
            raise ValueError("windows contain NaN or infinite values")
        s, sampler = settings, settings.sampler
        with torch.inference_mode():
            out = complete(
                self.network, self.scheduler, self.codec, torch.from_numpy(np.ascontiguousarray(w)),
                samples=s.n_g, observed=s.observed, gap=s.gap, steps=s.steps, eta=sampler.eta,
                start=sampler.start, temperature=sampler.temperature, reanchor=sampler.refine, generator=rng,
            ).numpy()  # fmt: skip
        return rigid_bones(out, w, known_frames(w.shape[1], s.observed, s.gap)) if sampler.refine else out


def rigid_bones(completions: np.ndarray, windows: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Completions ``(B, N, F, J, 3)`` with their generated frames (not ``known`` ``(F,)``) rebuilt with
    the observed frames' mean bone lengths (``windows`` ``(B, F, J, 3)``): the bundled model lets
    bones stretch by ~15 % over 30 frames, real Kinect skeletons by ~8 %."""
    out = completions.copy()
    lengths = bone_lengths(windows[:, known]).mean(axis=1)  # (B, 19)
    out[:, :, ~known] = with_bone_lengths(out[:, :, ~known], lengths[:, None, None])
    return out.astype(np.float32, copy=False)


def save_humanmac(path: Path, model: HumanMAC, metadata: dict[str, Any]) -> None:
    """Weights (network + codec buffers), every config and the window spec, plus ``metadata``."""
    save_checkpoint(path, model.modules(), KIND, {**model.configs(), **metadata})


def load_humanmac(path: Path | None = None) -> HumanMAC:
    """Rebuild a generator from its checkpoint alone (CPU, eval mode). Default: the bundled one."""
    path = Path(path) if path is not None else DEFAULT_HUMANMAC_PATH
    meta = load_metadata(path, KIND)
    network = MotionDenoiser(DenoiserConfig.from_dict(meta["denoiser"]))
    codec = MotionCodec(**meta["codec"])
    modules = nn.ModuleDict({"network": network, "codec": codec})
    modules.load_state_dict(load_state(path))
    scheduler = CosineDDIMScheduler(SchedulerConfig.from_dict(meta["scheduler"]))
    return HumanMAC(network, codec, scheduler, WindowSpec.from_dict(meta["window"]), meta)
