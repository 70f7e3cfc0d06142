"""Multi-positive contrastive loss (Eq. 5), SimCLR extended to every same-category pair."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F


def multi_positive_loss(
    z: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    positives: Literal["sum", "mean"] = "sum",
) -> torch.Tensor:
    """Eq. (5) averaged over the batch.

    z: ``(L, D)`` embeddings; labels: ``(L,)`` category ids; positives of i are all j != i with the
    same label (real clips and their generated variants alike). ``sum`` adds the per-positive terms
    as in Eq. (5); ``mean`` divides by |P(i)| (SupCon-style), which keeps the loss scale independent
    of how many variants each clip brings. Samples without any positive contribute nothing.
    """
    n = z.shape[0]
    sim = F.normalize(z, dim=1) @ F.normalize(z, dim=1).T / temperature  # cosine similarity / τ
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    log_prob = sim.masked_fill(self_mask, float("-inf")).log_softmax(dim=1)  # denominator excludes i
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    per_sample = -(log_prob.masked_fill(~pos, 0.0)).sum(dim=1)
    if positives == "mean":
        per_sample = per_sample / pos.sum(dim=1).clamp(min=1)
    return per_sample.mean()
