"""Infinite-width kernels and kernel ridge regression, shared by every KRR-based method.

The neural tangent kernel (Jacot, Gabriel & Hongler, NeurIPS 2018) of a fully connected ReLU
network in the NTK parameterisation, in closed form: each ``Dense`` layer computes
``z = (w_std / sqrt(fan_in)) W h + b_std b`` with standard-normal W, b. For inputs x, x' of
dimension d, writing Σ for the NNGP kernel and Θ for the NTK:

* input layer:  Σ₁(x, x') = w_std² ⟨x, x'⟩ / d + b_std²,  Θ₁ = Σ₁;
* after a ReLU between layers l and l+1, with cos θ = Σ_l(x, x') / sqrt(Σ_l(x, x) Σ_l(x', x'))
  (the arc-cosine kernels of Cho & Saul, NeurIPS 2009):
  E[relu(u) relu(v)] = sqrt(Σ_l(x,x) Σ_l(x',x')) (sin θ + (π − θ) cos θ) / (2π),
  E[relu'(u) relu'(v)] = (π − θ) / (2π);
* next layer:   Σ_{l+1} = w_std² E[relu relu] + b_std²,
                Θ_{l+1} = Σ_{l+1} + w_std² Θ_l E[relu' relu'].

``depth`` hidden layers give the kernel of the last (output) layer, whose width does not
matter. With depth 1, w_std = √2, b_std = 0.1 this is the kernel of ∞-AE (Sachdeva, Dhaliwal,
Wu & McAuley, "Infinite Recommendation Networks: A Data-Centric Approach", NeurIPS 2022), the
same values ``neural_tangents.stax`` gives for ``Dense(·) → Relu → Dense(·)`` with
``parameterization='ntk'``.

Kernel ridge regression uses a *trace-normalised* ridge, K + λ·tr(K)/n·I, as ∞-AE does, so one
λ grid fits data of any scale.
"""

from __future__ import annotations

import math

import torch

from graphdistill.core.errors import UserError


def relu_ntk(x: torch.Tensor, z: torch.Tensor | None = None, *, depth: int = 1, w_std: float = math.sqrt(2.0),
             b_std: float = 0.1, kind: str = "ntk") -> torch.Tensor:
    """The NTK (``kind="ntk"``) or NNGP (``kind="nngp"``) kernel matrix K(x, z).

    Args:
        x: (n, d) inputs; z: (m, d) inputs (default: ``x``).
        depth: number of hidden ReLU layers (≥ 1).

    Returns:
        (n, m) kernel matrix, differentiable in ``x`` and ``z``.

    Example::

        K = relu_ntk(users)            # (n_users, n_users), symmetric PSD
    """
    if depth < 1:
        raise UserError(f"depth must be ≥ 1 hidden layer, got {depth}")
    if kind not in ("ntk", "nngp"):
        raise UserError(f"kind must be 'ntk' or 'nngp', got {kind!r}")
    z = x if z is None else z
    if x.dim() != 2 or z.dim() != 2 or x.shape[1] != z.shape[1]:
        raise UserError(f"kernel inputs must be (n, d) and (m, d), got {tuple(x.shape)} and {tuple(z.shape)}")
    w2, b2, d = w_std**2, b_std**2, x.shape[1]
    cross = w2 * (x @ z.t()) / d + b2  # Σ₁(x, z)
    diag_x = w2 * (x * x).sum(1) / d + b2  # Σ₁(x, x)
    diag_z = w2 * (z * z).sum(1) / d + b2
    ntk = cross
    for _ in range(depth):
        norms = torch.sqrt(diag_x[:, None] * diag_z[None, :])
        # cos = ±1 (always on the diagonal) would make arccos' and sqrt' infinite and the chain
        # rule NaN; one machine epsilon inside, the values change below the dtype's precision.
        eps = torch.finfo(cross.dtype).eps
        cos = (cross / norms).clamp(-1.0 + eps, 1.0 - eps)
        sin = torch.sqrt(1.0 - cos * cos)
        theta = torch.arccos(cos)
        relu_relu = norms * (sin + (math.pi - theta) * cos) / (2 * math.pi)
        relu_dot = (math.pi - theta) / (2 * math.pi)
        ntk_prev = ntk
        cross = w2 * relu_relu + b2
        ntk = cross + w2 * ntk_prev * relu_dot
        diag_x = w2 * diag_x / 2 + b2  # E[relu(u)²] = Σ(x, x) / 2
        diag_z = w2 * diag_z / 2 + b2
    return ntk if kind == "ntk" else cross


def ridge_solve(k_train: torch.Tensor, targets: torch.Tensor, lam: float) -> torch.Tensor:
    """α = (K + λ·tr(K)/n·I)⁻¹ Y by a Cholesky solve (K symmetric PSD, so the shifted matrix is
    positive definite for λ > 0). ``k_train`` (n, n), ``targets`` (n, t) → (n, t)."""
    n = k_train.shape[0]
    if k_train.shape != (n, n) or targets.shape[0] != n:
        raise UserError(f"kernel ridge needs K (n, n) and Y (n, t), got {tuple(k_train.shape)} "
                        f"and {tuple(targets.shape)}")
    if lam <= 0:
        raise UserError(f"ridge λ must be > 0, got {lam}")
    shift = lam * torch.diagonal(k_train).sum() / n
    regularised = k_train + shift * torch.eye(n, dtype=k_train.dtype, device=k_train.device)
    factor, info = torch.linalg.cholesky_ex(regularised)
    if int(info) != 0:  # numerically indefinite (e.g. duplicate rows and a tiny λ): fall back to LU
        return torch.linalg.solve(regularised, targets)
    return torch.cholesky_solve(targets, factor)
