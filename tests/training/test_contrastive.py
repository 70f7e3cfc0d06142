from __future__ import annotations

import math

import pytest
import torch

from training.contrastive import multi_positive_loss


def brute_force(z: torch.Tensor, labels: list[int], tau: float, positives: str) -> float:
    n = len(labels)
    zn = [v / v.norm() for v in z]
    sim = [[float(zn[i] @ zn[k]) / tau for k in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        denom = sum(math.exp(sim[i][k]) for k in range(n) if k != i)
        pos = [j for j in range(n) if j != i and labels[j] == labels[i]]
        li = sum(-math.log(math.exp(sim[i][j]) / denom) for j in pos)
        if positives == "mean" and pos:
            li /= len(pos)
        total += li
    return total / n


@pytest.mark.parametrize("positives", ["sum", "mean"])
@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_loss_matches_brute_force_eq5(positives: str, tau: float) -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, generator=g, dtype=torch.float64)
    labels = [0, 0, 1, 1, 1, 2, 3]  # label 3 has no positive
    got = multi_positive_loss(z, torch.tensor(labels), tau, positives)  # type: ignore[arg-type]
    assert float(got) == pytest.approx(brute_force(z, labels, tau, positives), rel=1e-9)


def test_loss_prefers_clustered_categories() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    clustered = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    assert multi_positive_loss(clustered, labels, 0.1) < multi_positive_loss(mixed, labels, 0.1)
