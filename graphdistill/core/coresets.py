"""Greedy coreset selection in an embedding space, shared by every modality.

* :func:`herding` (Welling, ICML 2009): add, one at a time, the point that keeps the running mean
  of the chosen points closest to the mean of all of them — the subset whose mean embedding best
  matches the whole set's, i.e. the linear-kernel MMD of :mod:`graphdistill.core.distribution`
  minimised greedily over subsets;
* :func:`k_center` (Sener & Savarese, ICLR 2018): start from the point nearest the mean, then add
  the point farthest from every chosen one.

Both take (n, d) embeddings of one class and return indices into them; each step is one vectorised
pass over the n points (the loop runs over the k picks, never over points). The graph coreset
baselines use them on a trained GNN's embeddings; image distillation's ``init="herding"`` on random
ConvNets' embeddings.
"""

from __future__ import annotations

import torch


def _check(embeddings: torch.Tensor, k: int) -> None:
    if embeddings.dim() != 2:
        raise ValueError(f"expected (n, d) embeddings, got shape {tuple(embeddings.shape)}")
    if not 0 <= k <= len(embeddings):
        raise ValueError(f"cannot choose {k} of {len(embeddings)} points")


def herding(embeddings: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (k,) into ``embeddings`` (n, d), in the order herding picks them."""
    _check(embeddings, k)
    target = embeddings.mean(0)
    running = torch.zeros_like(target)
    available = torch.ones(len(embeddings), dtype=torch.bool, device=embeddings.device)
    chosen = []
    for t in range(1, k + 1):
        gap = ((running + embeddings) / t - target).norm(dim=1)
        gap[~available] = float("inf")
        i = int(gap.argmin())
        chosen.append(i)
        available[i] = False
        running += embeddings[i]
    return torch.tensor(chosen, dtype=torch.long)


def k_center(embeddings: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (k,) into ``embeddings`` (n, d): the point nearest the mean, then farthest-first."""
    _check(embeddings, k)
    if k == 0:
        return torch.zeros(0, dtype=torch.long)
    first = int((embeddings - embeddings.mean(0)).norm(dim=1).argmin())
    chosen = [first]
    nearest = (embeddings - embeddings[first]).norm(dim=1)
    nearest[first] = -1.0  # never re-pick a chosen point, even among duplicate embeddings
    for _ in range(k - 1):
        i = int(nearest.argmax())
        chosen.append(i)
        nearest = torch.minimum(nearest, (embeddings - embeddings[i]).norm(dim=1))
        nearest[i] = -1.0
    return torch.tensor(chosen, dtype=torch.long)
