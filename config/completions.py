"""HumanMAC completions: how many variants of a window, which of its frames they re-generate, and how
they are sampled. One :class:`CompletionSettings` is read by every caller (enrolment, training-time
augmentation banks, the few-shot and stream evaluations, the ablation, ``haad eval humanmac``), so
its defaults are the project's defaults.

Why these defaults (docs/humanmac.md, docs/experiments/):

* ``gap="middle"``, ``observed=40``: completions keep 20 frames at each end of a window and
  re-generate the 20 between them (in-betweening). On Kinder-Gator clips they cost a third of what
  predicted ends cost, and on the live path far less alert recall;
* the sampler starts a little below T (``start=0.925``) at temperature 0.8, re-anchored on the
  observed poses with rigid bones: best-of-10 ADE 0.293 on MSR's test subjects vs 0.354 for the
  paper's sampler (start 1, temperature 1, no refinement) and 0.352 for repeating the last pose.
  The price: completions move less than half as much as real motion.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import StrictModel

# Where a completion's generated frames are: "end" predicts the window's last frames from its first
# ones (the paper's Eq. 4); "middle" keeps frames at both ends and generates the motion between them.
Gap = Literal["end", "middle"]


class SamplerSettings(StrictModel):
    """How the reverse diffusion is run (models/humanmac/sampler.py)."""

    start: float = Field(
        0.925, gt=0, le=1, description="Sampling starts at start·T (1: the paper's, pure noise)."
    )
    temperature: float = Field(0.8, gt=0, le=2, description="Scale of the initial noise (1: the paper's).")
    refine: bool = Field(
        True, description="Re-anchor completions on the last observed pose, keep bone lengths."
    )
    eta: float = Field(0.0, ge=0, le=1, description="DDIM eta (0: deterministic given the start noise).")


class CompletionSettings(StrictModel):
    """``n_g`` HumanMAC completions of each window, keeping ``observed`` of its frames."""

    n_g: int = Field(10, ge=1, le=50, description="Completions per window (N_g).")
    observed: int = Field(
        40, ge=1, le=59, description="Frames of the window each completion keeps (O); the rest is generated."
    )
    gap: Gap = Field(
        "middle",
        description="middle: keep O/2 frames at each end and generate the motion between them; "
        "end: predict the last frames from the first O (the paper's Eq. 4).",
    )
    steps: int = Field(50, ge=1, le=1000, description="DDIM steps.")
    sampler: SamplerSettings = Field(default_factory=SamplerSettings, description="How they are sampled.")
