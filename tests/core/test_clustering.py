"""Seeded k-means."""

import pytest
import torch

from graphdistill.core.clustering import kmeans


def test_kmeans_finds_separated_groups_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([c + 0.1 * torch.randn(20, 2, generator=g) for c in centres])
    assignment, found = kmeans(points, 3, generator=torch.Generator().manual_seed(1))
    again, _ = kmeans(points, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(assignment, again)
    assert all(len(torch.unique(assignment[i * 20:(i + 1) * 20])) == 1 for i in range(3))
    assert len(torch.unique(assignment)) == 3
    assert torch.cdist(found, centres).min(1).values.max() < 0.2
    with pytest.raises(ValueError, match="need 1 ≤ k"):
        kmeans(points, 61)
