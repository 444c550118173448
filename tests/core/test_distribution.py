"""Distribution matching: class means, the linear- and Gaussian-kernel MMD."""

import math

import pytest
import torch

from graphdistill.core.distribution import (
    class_sums,
    gaussian_mmd,
    group_by_class,
    mean_embedding_distance,
    real_class_means,
)


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



def test_class_means_batched_over_networks_equal_one_network_at_a_time():
    features, labels = torch.randn(3, 10, 4), torch.tensor([0, 1, 2] * 3 + [0])
    means = real_class_means(features, labels, 3)
    assert means.shape == (3, 3, 4)
    for k in range(3):
        assert torch.allclose(means[k], real_class_means(features[k], labels, 3))
    syn = torch.randn(3, 6, 4)
    d = mean_embedding_distance(means, syn, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert d.shape == (3, 3)
    assert torch.allclose(d[1], mean_embedding_distance(means[1], syn[1], torch.tensor([0, 0, 1, 1, 2, 2])))


def test_group_by_class_pads_and_masks():
    features = torch.arange(10.0).view(5, 2)
    groups, mask = group_by_class(features, torch.tensor([1, 0, 1, 1, 2]), 4)
    assert groups.shape == (4, 3, 2)
    assert torch.equal(mask, torch.tensor([[1.0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(groups[1], features[[0, 2, 3]])
    assert torch.equal(groups[0, 0], features[1]) and torch.equal(groups[3], torch.zeros(3, 2))


def test_gaussian_mmd_zero_for_identical_sets_positive_otherwise():
    torch.manual_seed(0)
    real, labels = torch.randn(2, 30, 5), torch.arange(30) % 3
    same = gaussian_mmd(real, labels, real.clone(), labels, 3)
    assert same.shape == (2, 3) and torch.allclose(same, torch.zeros(2, 3), atol=1e-6)
    syn = (real[:, :9] + 1.5).requires_grad_(True)
    d = gaussian_mmd(real, labels, syn, labels[:9], 3)
    assert (d > 1e-3).all()
    d.sum().backward()
    assert torch.isfinite(syn.grad).all() and syn.grad.abs().sum() > 0
    # batched over the leading dimension = one network at a time
    one = gaussian_mmd(real[1], labels, syn[1].detach(), labels[:9], 3)
    assert torch.allclose(d[1].detach(), one, atol=1e-6)


def test_gaussian_mmd_closed_form_single_points():
    # one real and one synthetic point per class at squared distance 4, bandwidth 2, scale 1:
    # MMD² = 1 + 1 − 2·exp(−4/2)
    real, syn = torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, 0.0]])
    d = gaussian_mmd(real, torch.tensor([0]), syn, torch.tensor([0]), 1, scales=(1.0,), bandwidth=torch.tensor(2.0))
    assert torch.allclose(d, torch.tensor([2 - 2 * math.exp(-2.0)]))


def test_gaussian_mmd_gradient_matches_finite_differences():
    real, labels = torch.randn(8, 3, dtype=torch.float64), torch.tensor([0, 1] * 4)
    syn = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    bw = torch.tensor(1.7, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda s: gaussian_mmd(real, labels, s, torch.tensor([0, 0, 1, 1]), 2, bandwidth=bw), (syn,))
