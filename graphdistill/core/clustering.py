"""Seeded k-means (Lloyd's algorithm with k-means++ seeding), vectorised, for initialising synthetic sets.

Used where a synthetic set starts from summaries of groups of real examples rather than from
single examples (e.g. one distilled text sequence per cluster of documents).
"""

from __future__ import annotations

import torch


def kmeans(points: torch.Tensor, k: int, *, iterations: int = 25, generator: torch.Generator | None = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster (N, D) ``points`` into ``k`` groups; returns (assignment (N,), centres (k, D)).

    k-means++ seeding (Arthur & Vassilvitskii, SODA 2007) from ``generator``, then Lloyd
    iterations; a cluster that empties is re-seeded at the point farthest from its centre. With
    ``k == N`` every point is its own cluster.
    """
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 ≤ k ≤ {n} points, got k={k}")
    first = int(torch.randint(n, (1,), generator=generator))
    centres = points[first:first + 1].clone()
    nearest = (points - centres[0]).pow(2).sum(1)
    for _ in range(1, k):
        probs = nearest / nearest.sum() if nearest.sum() > 0 else torch.full((n,), 1.0 / n)
        pick = int(torch.multinomial(probs, 1, generator=generator))
        centres = torch.cat([centres, points[pick:pick + 1]])
        nearest = torch.minimum(nearest, (points - points[pick]).pow(2).sum(1))
    for _ in range(iterations):
        assignment = torch.cdist(points, centres).argmin(1)
        counts = torch.bincount(assignment, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, assignment, points)
        new = sums / counts.clamp_min(1).unsqueeze(1)
        for empty in torch.nonzero(counts == 0).flatten().tolist():
            far = int(torch.cdist(points, new).min(1).values.argmax())
            new[empty] = points[far]
        if torch.allclose(new, centres):
            break
        centres = new
    return torch.cdist(points, centres).argmin(1), centres
