"""The closed-form ReLU NTK against a wide finite network, and trace-normalised kernel ridge."""

import math

import pytest
import torch

from graphdistill.core.errors import UserError
from graphdistill.core.kernels import relu_ntk, ridge_solve


def empirical_ntk(x: torch.Tensor, width: int, w_std: float = math.sqrt(2.0), b_std: float = 0.1) -> torch.Tensor:
    """Θ(x, x') = Σ_θ ∂f(x)/∂θ ∂f(x')/∂θ of Dense(width) → ReLU → Dense(1) in the NTK
    parameterisation with standard-normal parameters, by autograd (independent of our formula)."""
    torch.manual_seed(0)
    d = x.shape[1]
    params = [torch.randn(width, d, dtype=x.dtype), torch.randn(width, dtype=x.dtype),
              torch.randn(1, width, dtype=x.dtype), torch.randn(1, dtype=x.dtype)]

    def f(w1, b1, w2, b2, inputs):
        hidden = torch.relu(w_std / math.sqrt(d) * inputs @ w1.t() + b_std * b1)
        return (w_std / math.sqrt(width) * hidden @ w2.t() + b_std * b2).squeeze(-1)

    jac = torch.func.jacrev(f, argnums=(0, 1, 2, 3))(*params, x)
    flat = torch.cat([j.reshape(len(x), -1) for j in jac], dim=1)
    return flat @ flat.t()


def test_ntk_matches_a_wide_network():
    x = torch.rand(6, 5, dtype=torch.float64)
    analytic = relu_ntk(x)
    estimate = empirical_ntk(x, width=200_000)
    assert torch.allclose(analytic, estimate, rtol=0.02, atol=0.0)


def test_ntk_is_symmetric_psd_and_matches_the_cross_kernel():
    x = (torch.rand(40, 30) < 0.2).double()
    for depth in (1, 2, 3):
        k = relu_ntk(x, depth=depth)
        assert torch.allclose(k, k.t())
        assert torch.linalg.eigvalsh(k).min() > -1e-9
        assert torch.allclose(relu_ntk(x[:7], x[7:], depth=depth), k[:7, 7:])


def test_ntk_diagonal_closed_form_and_gradients():
    # On the diagonal θ = 0: Σ₂ = 2·Σ₁/2 + 0.01 and Θ₂ = Σ₂ + 2·Σ₁/2 with Σ₁ = 2|x|²/d + 0.01.
    x = torch.rand(5, 7, dtype=torch.float64, requires_grad=True)
    sigma1 = 2 * (x * x).sum(1) / 7 + 0.01
    expected = (sigma1 + 0.01) + sigma1
    assert torch.allclose(torch.diagonal(relu_ntk(x)), expected, atol=1e-7)
    g_ours = torch.autograd.grad(torch.diagonal(relu_ntk(x)).sum(), x)[0]
    g_formula = torch.autograd.grad(expected.sum(), x)[0]
    assert torch.allclose(g_ours, g_formula, atol=1e-6)
    z = torch.rand(3, 7, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: relu_ntk(t, z, depth=2), (x,))
    y = torch.rand(8, 7, requires_grad=True)  # float32, with exact duplicates: finite gradients
    relu_ntk(torch.cat([y, y])).sum().backward()
    assert torch.isfinite(y.grad).all()


def test_ridge_is_trace_normalised_and_matches_a_direct_solve():
    torch.manual_seed(0)
    x = torch.rand(20, 9, dtype=torch.float64)
    k, y = relu_ntk(x), torch.rand(20, 4, dtype=torch.float64)
    for lam in (1e-5, 0.1, 5.0):
        direct = torch.linalg.solve(k + lam * torch.trace(k) / 20 * torch.eye(20, dtype=k.dtype), y)
        assert torch.allclose(ridge_solve(k, y, lam), direct, atol=1e-8)
    assert torch.allclose(ridge_solve(3.0 * k, y, 0.1), ridge_solve(k, y, 0.1) / 3.0)  # scale-free λ


def test_bad_kernel_input():
    with pytest.raises(UserError, match="depth"):
        relu_ntk(torch.rand(3, 2), depth=0)
    with pytest.raises(UserError, match="inputs"):
        relu_ntk(torch.rand(3, 2), torch.rand(3, 4))
    with pytest.raises(UserError, match="λ"):
        ridge_solve(torch.eye(3), torch.ones(3, 1), 0.0)
