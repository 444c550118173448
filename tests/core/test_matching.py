"""Gradient matching core: distances, batched per-class gradients, the outer/inner loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.matching import (
    DISTANCES,
    class_gradients,
    cosine_distance,
    layerwise_distance,
    match_epoch,
    matching_loss,
    squared_distance,
)


def _grads(seed: int = 0, classes: int = 3, dtype=torch.float64) -> list[torch.Tensor]:
    """Per-class gradients of a conv weight, a linear weight and a bias."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(classes, 4, 2, 3, 3), (classes, 5, 7), (classes, 5)]
    return [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]


@pytest.mark.parametrize("name", ["layerwise", "mse", "cosine"])
def test_identical_gradients_are_at_distance_zero(name):
    grads = _grads()
    dist = DISTANCES.get(name)(grads, [g.clone() for g in grads])
    assert dist.shape == (3,)
    # exactly 0 but for the 1e-6 the reference code adds to norm products
    torch.testing.assert_close(dist, torch.zeros(3, dtype=torch.float64), atol=1e-5, rtol=0)


def test_layerwise_is_invariant_to_positive_rescaling_of_a_row_and_ignores_biases():
    real = _grads(0)
    syn = _grads(1)
    base = layerwise_distance(real, syn)
    scaled = [g.clone() for g in syn]
    scaled[0][:, 2] *= 7.5  # one output unit (row) of the conv weight, every class
    scaled[1][:, 0] *= 0.01
    scaled[2] = torch.randn_like(scaled[2])  # a bias: ignored
    torch.testing.assert_close(layerwise_distance(real, scaled), base, atol=1e-6, rtol=1e-6)
    # a negative factor flips that row's cosine, so the distance changes
    flipped = [g.clone() for g in syn]
    flipped[1][:, 0] *= -1
    assert not torch.allclose(layerwise_distance(real, flipped), base)
    # the squared distance is not scale-invariant
    assert not torch.allclose(squared_distance(real, scaled), squared_distance(real, syn))


def test_distances_match_their_closed_forms():
    real, syn = _grads(0), _grads(1)
    c = 1
    expected_layerwise = sum(
        (1 - F.cosine_similarity(r[c].flatten(1), s[c].flatten(1), dim=1, eps=0)).sum()
        for r, s in zip(real[:2], syn[:2], strict=True)
    )
    torch.testing.assert_close(layerwise_distance(real, syn)[c], expected_layerwise, atol=1e-5, rtol=1e-5)
    expected_mse = sum(((r[c] - s[c]) ** 2).sum() for r, s in zip(real, syn, strict=True))
    torch.testing.assert_close(squared_distance(real, syn)[c], expected_mse)
    flat_r = torch.cat([r[c].flatten() for r in real])
    flat_s = torch.cat([s[c].flatten() for s in syn])
    torch.testing.assert_close(cosine_distance(real, syn)[c], 1 - F.cosine_similarity(flat_r, flat_s, dim=0),
                               atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("distance", [layerwise_distance, squared_distance, cosine_distance])
def test_distance_gradient_matches_finite_differences(distance):
    real = [g.detach() for g in _grads(0, classes=2)]
    syn = [g.detach().requires_grad_() for g in _grads(1, classes=2)]
    assert torch.autograd.gradcheck(lambda *s: distance(real, list(s)).sum(), syn, eps=1e-6, atol=1e-5)


def test_class_gradients_equal_one_backward_per_class():
    torch.manual_seed(0)
    lin = nn.Linear(6, 4)
    x = torch.randn(12, 6, requires_grad=True)
    y = torch.arange(4).repeat(3)

    def losses():
        per = F.cross_entropy(lin(x), y, reduction="none")
        return torch.zeros(4).index_add(0, y, per) / 3

    params = list(lin.parameters())
    batched = class_gradients(losses(), params, create_graph=True)
    for c in range(4):
        single = torch.autograd.grad(losses()[c], params)
        for b, s in zip(batched, single, strict=True):
            torch.testing.assert_close(b[c], s)
    for b, looped in zip(batched, class_gradients(losses(), params, vectorize=False), strict=True):
        torch.testing.assert_close(b, looped)
    # differentiable: the synthetic inputs get a gradient through the batched gradients
    (grad_x,) = torch.autograd.grad(sum(g.pow(2).sum() for g in batched), x)
    assert grad_x.abs().sum() > 0


class _CountingProblem:
    """A tiny matching problem: a linear model, synthetic points S that should produce the
    same per-class gradients as fixed real points."""

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.real_x = torch.randn(40, 5, generator=gen)
        self.real_y = torch.arange(2).repeat(20)
        self.syn_x = nn.Parameter(torch.randn(4, 5, generator=gen))
        self.syn_y = torch.tensor([0, 1, 0, 1])
        self.calls = {"new_model": 0, "inner_objective": 0, "inner_loss": 0}

    def new_model(self):
        self.calls["new_model"] += 1
        return nn.Linear(5, 2)

    def _class_losses(self, model, x, y):
        per = F.cross_entropy(model(x), y, reduction="none")
        return torch.zeros(2).index_add(0, y, per) / torch.bincount(y, minlength=2)

    def real_class_losses(self, model):
        return self._class_losses(model, self.real_x, self.real_y)

    def synthetic_class_losses(self, model):
        return self._class_losses(model, self.syn_x, self.syn_y)

    def inner_objective(self):
        self.calls["inner_objective"] += 1
        x = self.syn_x.detach()

        def loss(model):
            self.calls["inner_loss"] += 1
            return F.cross_entropy(model(x), self.syn_y)

        return loss


def test_match_epoch_runs_outer_and_inner_loops_and_reduces_the_matching_loss():
    torch.manual_seed(0)
    problem = _CountingProblem()
    optimizer = torch.optim.Adam([problem.syn_x], lr=0.05)
    updates = []

    def update(loss):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        updates.append(float(loss.detach()))

    weights = torch.ones(2)
    loss = match_epoch(problem, outer=4, inner=3, distance=layerwise_distance, class_weights=weights,
                       update=update)
    assert problem.calls == {"new_model": 1, "inner_objective": 3, "inner_loss": 9}
    assert len(updates) == 4 and loss.dim() == 0
    torch.testing.assert_close(loss, torch.tensor(sum(updates) / 4))

    # one-step matching: one update per fresh model, never any inner training
    problem = _CountingProblem()
    optimizer = torch.optim.Adam([problem.syn_x], lr=0.05)
    torch.manual_seed(1)
    fixed_model = nn.Linear(5, 2)
    problem.new_model = lambda: fixed_model  # the same initialisation every round
    before = float(matching_loss(fixed_model, problem, layerwise_distance, weights).detach())
    for _ in range(100):
        match_epoch(problem, outer=1, inner=0, distance=layerwise_distance, class_weights=weights,
                    update=update)
    assert problem.calls["inner_objective"] == 0
    assert float(matching_loss(fixed_model, problem, layerwise_distance, weights).detach()) < 0.5 * before


def test_bad_arguments_fail_clearly():
    with pytest.raises(ValueError, match="per-class losses"):
        class_gradients(torch.zeros(()), [torch.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="outer"):
        match_epoch(_CountingProblem(), outer=0, inner=1, distance=layerwise_distance,
                    class_weights=torch.ones(2), update=lambda loss: None)
    with pytest.raises(Exception, match="Did you mean"):
        DISTANCES.get("layerwize")
