"""Unrolled training: the meta-gradient against finite differences, and truncation."""

import torch

from graphdistill.core.unroll import unrolled_sgd


def _setup():
    g = torch.Generator().manual_seed(0)
    x_syn = torch.randn(4, 3, generator=g, dtype=torch.float64)
    y_syn = torch.randn(4, 2, generator=g, dtype=torch.float64)
    x_real = torch.randn(10, 3, generator=g, dtype=torch.float64)
    y_real = torch.randn(10, 2, generator=g, dtype=torch.float64)
    w0 = torch.randn(3, 2, generator=g, dtype=torch.float64) * 0.1
    return x_syn, y_syn, x_real, y_real, w0


def _meta_loss(x_syn, y_syn, x_real, y_real, w0, lrs, backprop_steps=None):
    """Linear least squares: T GD steps on (x_syn, y_syn), then the real-data loss."""
    def step_loss(params, _t):
        return (torch.tanh(x_syn @ params["w"]) - y_syn).pow(2).mean()

    final = unrolled_sgd(step_loss, {"w": w0.clone().requires_grad_(True)}, lrs, backprop_steps=backprop_steps)
    return (torch.tanh(x_real @ final["w"]) - y_real).pow(2).mean()


def test_meta_gradient_matches_finite_differences():
    x_syn, y_syn, x_real, y_real, w0 = _setup()
    lrs = torch.tensor([0.5, 0.3, 0.2, 0.4], dtype=torch.float64, requires_grad=True)
    x = x_syn.clone().requires_grad_(True)
    loss = _meta_loss(x, y_syn, x_real, y_real, w0, lrs)
    grad_x, grad_lr = torch.autograd.grad(loss, [x, lrs])
    eps = 1e-6
    for i, j in [(0, 0), (1, 2), (3, 1)]:
        plus, minus = x_syn.clone(), x_syn.clone()
        plus[i, j] += eps
        minus[i, j] -= eps
        fd = (_meta_loss(plus, y_syn, x_real, y_real, w0, lrs.detach())
              - _meta_loss(minus, y_syn, x_real, y_real, w0, lrs.detach())) / (2 * eps)
        assert torch.isclose(grad_x[i, j], fd, rtol=1e-5, atol=1e-9), (i, j, grad_x[i, j], fd)
    for t in range(4):
        bump = torch.zeros(4, dtype=torch.float64)
        bump[t] = eps
        fd = (_meta_loss(x_syn, y_syn, x_real, y_real, w0, lrs.detach() + bump)
              - _meta_loss(x_syn, y_syn, x_real, y_real, w0, lrs.detach() - bump)) / (2 * eps)
        assert torch.isclose(grad_lr[t], fd, rtol=1e-5, atol=1e-9), (t, grad_lr[t], fd)


def test_truncation_drops_the_early_steps_only():
    x_syn, y_syn, x_real, y_real, w0 = _setup()
    lrs = torch.tensor([0.5, 0.3, 0.2, 0.4], dtype=torch.float64, requires_grad=True)
    loss = _meta_loss(x_syn, y_syn, x_real, y_real, w0, lrs, backprop_steps=2)
    full = _meta_loss(x_syn, y_syn, x_real, y_real, w0, lrs)
    assert torch.isclose(loss, full)  # the forward pass is the same
    grad = torch.autograd.grad(loss, lrs)[0]
    assert grad[0] == 0 and grad[1] == 0 and grad[2] != 0 and grad[3] != 0
    # The kept steps' gradients equal those of a two-step unroll started from the detached θ_2.
    def step_loss(params, _t):
        return (torch.tanh(x_syn @ params["w"]) - y_syn).pow(2).mean()

    theta2 = unrolled_sgd(step_loss, {"w": w0.clone().requires_grad_(True)}, lrs.detach()[:2], backprop_steps=0)
    tail = lrs.detach()[2:].clone().requires_grad_(True)
    final = unrolled_sgd(step_loss, {"w": theta2["w"].requires_grad_(True)}, tail)
    expected = torch.autograd.grad((torch.tanh(x_real @ final["w"]) - y_real).pow(2).mean(), tail)[0]
    assert torch.allclose(grad[2:], expected)


def test_no_backprop_steps_gives_detached_result():
    x_syn, y_syn, x_real, y_real, w0 = _setup()
    lrs = torch.full((3,), 0.1, dtype=torch.float64, requires_grad=True)
    final = unrolled_sgd(lambda p, t: (x_syn @ p["w"] - y_syn).pow(2).mean(), {"w": w0.clone().requires_grad_()},
                         lrs, backprop_steps=0)
    assert not final["w"].requires_grad
