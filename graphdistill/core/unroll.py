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


def unrolled_sgd_gradients(step_loss: StepLoss, params: Params, lrs: torch.Tensor,
                           outer_loss: Callable[[Params], torch.Tensor],
                           wrt: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The exact gradient of ``outer_loss(θ_T)`` through ``len(lrs)`` SGD steps, one step's graph at a time.

    Same value as ``torch.autograd.grad(outer_loss(unrolled_sgd(step_loss, params, lrs)), wrt)``,
    but instead of holding the T steps' graphs at once (memory growing with T: the trajectory
    matching of MTT), it runs the steps without a graph, keeping only the parameters θ_t of each
    step, then sweeps backwards (reverse-mode by hand; the "constant memory" of TESLA, Cui et al.,
    ICML 2023): with λ = ∂L/∂θ_{t+1} and g_t = ∇_θ step_loss(θ_t, t),

        ∂L/∂w  += −η_t · ∂(λ·g_t)/∂w        (w: the synthetic data ``wrt``)
        ∂L/∂η_t = −λ·g_t                     (η: step sizes, chained into ``lrs``'s own inputs)
        λ       ← λ − η_t · H_t λ            (H_t λ = ∂(λ·g_t)/∂θ_t, a Hessian-vector product)

    ``step_loss(θ, t)`` must give the same value when called again for the same t (fix its batch
    and augmentation per step). Memory: one step's graph plus the T parameter vectors θ_t.

    Returns:
        (outer loss as a detached 0-d tensor, one gradient per tensor of ``wrt``).
    """
    if lrs.dim() != 1 or len(lrs) == 0:
        raise ValueError(f"lrs must be a non-empty 1-D tensor of step sizes, got shape {tuple(lrs.shape)}")
    names = list(params)
    step_sizes = lrs.detach()
    trajectory = [{k: v.detach() for k, v in params.items()}]
    for t in range(len(lrs)):
        theta = {k: v.requires_grad_(True) for k, v in ((k, v.detach()) for k, v in trajectory[-1].items())}
        grads = torch.autograd.grad(step_loss(theta, t), [theta[k] for k in names], allow_unused=True)
        trajectory.append({k: (theta[k] if g is None else theta[k] - step_sizes[t] * g).detach()
                           for k, g in zip(names, grads, strict=True)})
    final = {k: v.requires_grad_(True) for k, v in trajectory.pop().items()}
    loss = outer_loss(final)
    adjoint = list(torch.autograd.grad(loss, [final[k] for k in names], allow_unused=True, materialize_grads=True))
    totals = [torch.zeros_like(w) for w in wrt]
    lr_coefficients = []
    for t in range(len(lrs) - 1, -1, -1):
        theta = {k: v.requires_grad_(True) for k, v in trajectory[t].items()}
        grads = torch.autograd.grad(step_loss(theta, t), [theta[k] for k in names], create_graph=True,
                                    allow_unused=True, materialize_grads=True)
        inner = sum((a * g).sum() for a, g in zip(adjoint, grads, strict=True))
        parts = torch.autograd.grad(inner, [theta[k] for k in names] + list(wrt), allow_unused=True,
                                    materialize_grads=True)
        hvp, per_input = parts[:len(names)], parts[len(names):]
        totals = [total - step_sizes[t] * part for total, part in zip(totals, per_input, strict=True)]
        lr_coefficients.append(-inner.detach())
        adjoint = [a - step_sizes[t] * h for a, h in zip(adjoint, hvp, strict=True)]
    if lrs.requires_grad:  # chain ∂L/∂η_t into whatever the step sizes are made of (e.g. one learned scalar)
        coefficients = torch.stack(lr_coefficients[::-1])
        lr_parts = torch.autograd.grad((coefficients * lrs).sum(), list(wrt), allow_unused=True, materialize_grads=True)
        totals = [total + part for total, part in zip(totals, lr_parts, strict=True)]
    return loss.detach(), totals
