import pytest
import torch

from graphdistill.core.coresets import herding, k_center


def _gap(points: torch.Tensor, chosen: torch.Tensor) -> float:
    return float((points[chosen].mean(0) - points.mean(0)).norm())


def test_herding_subsets_match_the_mean_better_than_random_ones():
    g = torch.Generator().manual_seed(1)
    points = torch.randn(200, 8, generator=g)
    for k in (1, 5, 20):
        chosen = herding(points, k)
        assert len(set(chosen.tolist())) == k
        random_gaps = [_gap(points, torch.randperm(200, generator=g)[:k]) for _ in range(50)]
        assert _gap(points, chosen) < min(random_gaps)
    # k = 1: the point nearest the mean, in closed form
    assert int(herding(points, 1)) == int((points - points.mean(0)).norm(dim=1).argmin())


def test_greedy_selections_reject_impossible_requests():
    points = torch.randn(4, 2)
    for select in (herding, k_center):
        assert select(points, 0).numel() == 0
        with pytest.raises(ValueError, match="cannot choose 5 of 4"):
            select(points, 5)
        with pytest.raises(ValueError, match="embeddings"):
            select(points.flatten(), 2)
