"""How HumanMAC draws completions beyond the paper's sampler (models/humanmac/sampler.py).

The defaults were chosen on MSR Action3D's test subjects with the bundled model (the evaluation
reports Kinder-Gator's; docs/humanmac.md, "Sampling"): best-of-10 ADE 0.354 with the paper's sampler
(start 1, temperature 1, no refinement), 0.305 at temperature 0.8 with refinement, 0.293 with start
0.925 as well (0.303 at 0.90, 0.322 at 0.85); repeat-last 0.352. Starting a little below T keeps
samples on the observed motion for the first frames, where the paper's sampler drifted away from
it fastest. The price, seen later: completions move less than half as much as real motion (the
``motion`` column of ``haad eval humanmac``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import StrictModel

# Where a completion's generated frames are: "end" predicts the window's last frames from its first
# ones (the paper's Eq. 4); "middle" keeps frames at both ends and generates the motion between them.
Gap = Literal["end", "middle"]

# Support-set (enrolment) completions keep 20 frames at each end of a window and re-generate the 20
# between: on Kinder-Gator clips they cost a third of what predicted ends cost, and on the live path
# far less alert recall (docs/benchmark.md, "In-betweening instead of prediction").
SUPPORT_OBSERVED = 40
SUPPORT_GAP: Gap = "middle"


class SamplerSettings(StrictModel):
    start: float = Field(
        0.925, gt=0, le=1, description="Sampling starts at start·T (1: the paper's, pure noise)."
    )
    temperature: float = Field(0.8, gt=0, le=2, description="Scale of the initial noise (1: the paper's).")
    refine: bool = Field(
        True, description="Re-anchor completions on the last observed pose, keep bone lengths."
    )
