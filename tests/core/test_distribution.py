"""Distribution matching: class means and the linear-kernel MMD."""

import pytest
import torch

from graphdistill.core.distribution import class_sums, mean_embedding_distance, real_class_means


def test_class_means_closed_form():
    features = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    labels = torch.tensor([0, 0, 2])
    sums, counts = class_sums(features, labels, 3)
    assert torch.equal(counts, torch.tensor([2.0, 0.0, 1.0]))
    assert torch.equal(sums, torch.tensor([[4.0, 2.0], [0.0, 0.0], [5.0, 5.0]]))
    with pytest.raises(ValueError, match="no real examples of class"):
        real_class_means(features, labels, 3)
    means = real_class_means(features, torch.tensor([0, 1, 1]), 2)
    assert torch.allclose(means, torch.tensor([[1.0, 0.0], [4.0, 3.5]]))


def test_mean_embedding_distance_is_zero_at_the_means_and_differentiable():
    real_means = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    syn = torch.tensor([[1.0, 2.0], [1.0, -2.0], [-1.0, 0.0]], requires_grad=True)
    d = mean_embedding_distance(real_means, syn, torch.tensor([0, 1, 1]))
    assert torch.allclose(d, torch.zeros(2))
    d = mean_embedding_distance(real_means, syn * 2, torch.tensor([0, 1, 1]))
    assert torch.allclose(d, torch.tensor([5.0, 1.0]))  # ‖(2,4)−(1,2)‖² and ‖(0,−2)−(0,−1)‖²
    d.sum().backward()
    assert syn.grad is not None and torch.isfinite(syn.grad).all()

