"""Differentiable unrolled training: backpropagation through a model's training on synthetic data.

Dataset Distillation (Wang, Zhu, Torralba & Efros, 2018) and its soft-label / text extension
(Sucholutsky & Schonlau, IJCNN 2021) learn synthetic data x̃ (and labels ỹ, step sizes η) so that
a model trained on them for T gradient steps from an initialisation θ₀ does well on real data::

    θ_{t+1} = θ_t − η_t ∇_θ ℓ(θ_t; x̃, ỹ),   t = 0 … T−1
    min_{x̃, ỹ, η}  E_θ₀ [ L_real(θ_T) ]

:func:`unrolled_sgd` runs the inner loop functionally (parameters as a dict of tensors, applied
with :func:`torch.func.functional_call`), keeping the graph so that ``L_real(θ_T).backward()``
reaches x̃, ỹ and η. ``backprop_steps = K < T`` truncates: the first T − K steps run without a
graph (their parameters are detached), so memory holds K steps whatever T is — truncated
backpropagation through training. Modality-agnostic: the caller's ``step_loss`` decides what a
step sees (text sequences, images, …).

Example::

    params = detached_parameters(model)
    final = unrolled_sgd(lambda p, t: F.cross_entropy(functional_call(model, p, (x_syn,)), y_syn),
                         params, lrs=torch.full((10,), 0.01, requires_grad=True))
    F.cross_entropy(functional_call(model, final, (x_real,)), y_real).backward()
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Params = dict[str, torch.Tensor]
StepLoss = Callable[[Params, int], torch.Tensor]


def detached_parameters(model: nn.Module) -> Params:
    """The model's trainable parameters as fresh leaves (requiring grad), keyed by name."""
    return {name: p.detach().clone().requires_grad_(True) for name, p in model.named_parameters() if p.requires_grad}


def unrolled_sgd(step_loss: StepLoss, params: Params, lrs: torch.Tensor, *,
                 backprop_steps: int | None = None) -> Params:
    """Run ``len(lrs)`` plain gradient steps θ ← θ − lrs[t] · ∇ step_loss(θ, t); return the last θ.

    Args:
        step_loss: ``(params, t) -> 0-d loss`` of step t (e.g. cross-entropy on the synthetic batch).
        params: the initialisation θ₀ (name → tensor); leaves that require grad, or tensors that
            already depend on something being learned.
        lrs: (T,) step sizes; may require grad (learned step sizes).
        backprop_steps: keep the graph only through the last K steps (``None``: all T).

    Returns:
        θ_T as a dict; differentiable with respect to whatever the kept steps depended on.
    """
    if lrs.dim() != 1 or len(lrs) == 0:
        raise ValueError(f"lrs must be a non-empty 1-D tensor of step sizes, got shape {tuple(lrs.shape)}")
    steps = len(lrs)
    keep = steps if backprop_steps is None else max(0, min(int(backprop_steps), steps))
    names = list(params)
    for t in range(steps):
        differentiable = t >= steps - keep
        if keep < steps and t <= steps - keep:
            # Outside the kept window, or at its start: continue from detached leaves.
            params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        loss = step_loss(params, t)
        grads = torch.autograd.grad(loss, [params[k] for k in names], create_graph=differentiable,
                                    allow_unused=True)
        lr = lrs[t] if differentiable else lrs[t].detach()
        params = {k: params[k] if g is None else params[k] - lr * g for k, g in zip(names, grads, strict=True)}
        if not differentiable:
            params = {k: v.detach() for k, v in params.items()}
    return params
