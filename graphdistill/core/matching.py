"""Gradient matching: learn synthetic data whose training gradients mimic the real data's.

Dataset Condensation (DC; Zhao, Mopuri & Bilen, ICLR 2021) and GCond (Jin et al., ICLR 2022)
learn a synthetic set S so that, class by class, a network's gradient on S matches its gradient
on the real set T, in expectation over network initialisations and along training on S::

    min_S  E_θ0 [ Σ_t Σ_c w_c · D(∇_θ L(T_c; θ_t), ∇_θ L(S_c; θ_t)) ]

This module is modality-agnostic: it sees parameters, per-class losses and a
:class:`MatchingProblem` — never graphs or images. Pieces:

* distances ``D`` (:data:`DISTANCES`): ``"layerwise"`` (the papers' default, called "ours" in
  their code), ``"mse"`` and ``"cosine"``; all batched over a leading class dimension;
* :func:`class_gradients`: the C per-class gradients of one model in a single vectorised
  backward pass (``is_grads_batched``), not C passes — right when the classes share one small
  forward graph (graph nodes); :func:`separate_class_gradients`: one forward and backward per
  class — right when each class has its own large batch (images), where a batched backward over
  the whole graph would repeat the work C times;
* :func:`matching_loss` and :func:`match_epoch`: one outer/inner round of the algorithm —
  fresh model, then ``outer`` matching updates of S separated by ``inner`` steps training the
  model on S.

Gradient tensors carry a leading class axis: a parameter of shape ``(out, in)`` has per-class
gradients of shape ``(C, out, in)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import torch
from torch import nn

from graphdistill.core.optim import adam
from graphdistill.core.registry import Registry

Gradients = Sequence[torch.Tensor]
Distance = Callable[[Gradients, Gradients], torch.Tensor]
DISTANCES: Registry[Distance] = Registry("gradient distance")

EPS = 1e-6  # added to norm products, as in the DC and GCond reference code


@DISTANCES.register("layerwise")
def layerwise_distance(real: Gradients, syn: Gradients) -> torch.Tensor:
    """Σ over weight tensors, Σ over output units k of 1 − cos(g_real[k], g_syn[k]).

    The distance of DC (Zhao et al., ICLR 2021, Eq. 10) and GCond: every weight's gradient is
    reshaped to (out, rest) — a linear layer's (out, in), a convolution's (out, in·h·w) — and the
    cosine is taken per output unit (row). Gradients of 1-D parameters (biases, normalisation
    scales) are ignored, as in both papers' code. Weights must be stored output-first, as
    ``nn.Linear`` and ``nn.Conv*`` do.

    Args:
        real, syn: aligned sequences of (C, *param_shape) per-class gradients.

    Returns:
        (C,) distances; 0 where the gradients are equal up to a positive factor per row.
    """
    total = _zeros_like_batch(real)
    for g_real, g_syn in zip(real, syn, strict=True):
        if g_real.dim() <= 2:  # (C,) or (C, n): gradient of a scalar or 1-D parameter
            continue
        g_real, g_syn = g_real.flatten(2), g_syn.flatten(2)  # (C, out, rest)
        dot = (g_real * g_syn).sum(-1)
        norms = g_real.norm(dim=-1) * g_syn.norm(dim=-1)
        total = total + (1 - dot / (norms + EPS)).sum(-1)
    return total


@DISTANCES.register("mse")
def squared_distance(real: Gradients, syn: Gradients) -> torch.Tensor:
    """Σ over all parameters (biases included) of the squared gradient difference: (C,)."""
    total = _zeros_like_batch(real)
    for g_real, g_syn in zip(real, syn, strict=True):
        total = total + (g_real - g_syn).pow(2).flatten(1).sum(1)
    return total


@DISTANCES.register("cosine")
def cosine_distance(real: Gradients, syn: Gradients) -> torch.Tensor:
    """1 − cosine of all parameters' gradients concatenated into one vector per class: (C,)."""
    g_real = torch.cat([g.flatten(1) for g in real], 1)
    g_syn = torch.cat([g.flatten(1) for g in syn], 1)
    return 1 - (g_real * g_syn).sum(1) / (g_real.norm(dim=1) * g_syn.norm(dim=1) + EPS)


def _zeros_like_batch(grads: Gradients) -> torch.Tensor:
    if not grads:
        raise ValueError("no gradients to compare")
    first = grads[0]
    return first.new_zeros(first.shape[0])


def class_gradients(losses: torch.Tensor, params: Sequence[torch.Tensor], *, create_graph: bool = False,
                    vectorize: bool = True) -> list[torch.Tensor]:
    """Gradients of each of ``losses`` (C,) with respect to ``params``.

    Returns one (C, *p.shape) tensor per parameter: row c is ∇_p losses[c]. With
    ``create_graph`` the result is differentiable (for the synthetic side of matching).
    ``vectorize`` runs the C backward passes as one batched pass (3x faster for a small model);
    turn it off when the graph holds operations without batching rules (sparse CSR products).
    """
    if losses.dim() != 1:
        raise ValueError(f"expected a (C,) vector of per-class losses, got shape {tuple(losses.shape)}")
    params = list(params)
    if vectorize:
        identity = torch.eye(len(losses), dtype=losses.dtype, device=losses.device)
        grads = torch.autograd.grad(losses, params, grad_outputs=identity, is_grads_batched=True,
                                    create_graph=create_graph, allow_unused=True)
        return [torch.zeros((len(losses), *p.shape), dtype=p.dtype, device=p.device) if g is None else g
                for g, p in zip(grads, params, strict=True)]
    rows = [torch.autograd.grad(loss, params, create_graph=create_graph, retain_graph=True,
                                allow_unused=True, materialize_grads=True) for loss in losses]
    return [torch.stack(per_param) for per_param in zip(*rows, strict=True)]


def separate_class_gradients(class_loss: Callable[[int], torch.Tensor], classes: Sequence[int],
                             params: Sequence[torch.Tensor], *, create_graph: bool = False) -> list[torch.Tensor]:
    """Per-class gradients, class by class: ``class_loss(c)`` runs its own forward pass.

    Returns one (len(classes), *p.shape) tensor per parameter, like :func:`class_gradients`.
    """
    params = list(params)
    rows = [torch.autograd.grad(class_loss(c), params, create_graph=create_graph, allow_unused=True,
                                materialize_grads=True) for c in classes]
    return [torch.stack(per_param) for per_param in zip(*rows, strict=True)]


class MatchingProblem(Protocol):
    """What a modality provides to gradient matching (graph: GCond; images: DC).

    Per-class losses are (C,) vectors over the classes being matched, in the same order on both
    sides; the synthetic one must be differentiable in the synthetic parameters. A problem may
    instead define ``real_class_gradients(model, params)`` and ``synthetic_class_gradients(model,
    params)`` returning per-class gradients directly (e.g. through :func:`separate_class_gradients`);
    :func:`matching_loss` uses them when present.
    """

    def new_model(self) -> nn.Module:
        """A freshly initialised matching network."""

    vectorize_real: bool
    """Whether the real losses' graph supports batched backward (False with sparse products)."""

    def real_class_losses(self, model: nn.Module) -> torch.Tensor:
        """(C,) losses of ``model`` on (a batch of) each class's real data."""

    def synthetic_class_losses(self, model: nn.Module) -> torch.Tensor:
        """(C,) losses of ``model`` on each class's synthetic data (graph kept to S)."""

    def inner_objective(self) -> Callable[[nn.Module], torch.Tensor]:
        """A loss for training the model on a detached snapshot of S (built once per inner phase)."""


def matching_loss(model: nn.Module, problem: MatchingProblem, distance: Distance,
                  class_weights: torch.Tensor) -> torch.Tensor:
    """Σ_c w_c · D(real gradient of class c, synthetic gradient of class c) for ``model``.

    Real gradients are detached; the result is differentiable in the synthetic parameters.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if hasattr(problem, "real_class_gradients"):
        real = problem.real_class_gradients(model, params)
        syn = problem.synthetic_class_gradients(model, params)
    else:
        real = class_gradients(problem.real_class_losses(model), params,
                               vectorize=getattr(problem, "vectorize_real", True))
        syn = class_gradients(problem.synthetic_class_losses(model), params, create_graph=True)
    real = [g.detach() for g in real]
    return (class_weights * distance(real, syn)).sum()


def match_epoch(problem: MatchingProblem, *, outer: int, inner: int, distance: Distance,
                class_weights: torch.Tensor, update: Callable[[torch.Tensor], None],
                model_lr: float = 0.01,
                model_optimizer: Callable[[Iterable[torch.Tensor]], torch.optim.Optimizer] | None = None
                ) -> torch.Tensor:
    """One round: a fresh model; ``outer`` times, a matching loss handed to ``update`` (which
    back-propagates it and steps the synthetic parameters), then ``inner`` steps of the model on
    the synthetic data (skipped after the last outer step, as in DC and GCond) — Adam at
    ``model_lr`` (GCond) unless ``model_optimizer(params)`` builds another (DC: plain SGD).

    ``outer = 1, inner = 0`` is one-step matching (DosCond; Jin et al., KDD 2022): gradients
    at initialisation only.

    Returns the mean matching loss of the round as a 0-d tensor (no host sync in the loop).
    """
    if outer < 1 or inner < 0:
        raise ValueError(f"need outer ≥ 1 and inner ≥ 0, got outer={outer}, inner={inner}")
    model = problem.new_model()
    optimizer = adam(model.parameters(), lr=model_lr) if model_optimizer is None else model_optimizer(
        model.parameters())
    total = class_weights.new_zeros(())
    for step in range(outer):
        loss = matching_loss(model, problem, distance, class_weights)
        update(loss)
        total = total + loss.detach()
        if step == outer - 1 or inner == 0:
            continue
        objective = problem.inner_objective()
        for _ in range(inner):
            optimizer.zero_grad(set_to_none=True)
            objective(model).backward()
            optimizer.step()
    return total / outer
