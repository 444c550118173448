"""The BatchNorm-statistics regulariser of model inversion, as hooks, and the image priors.

DeepInversion (Yin et al., "Dreaming to Distill", CVPR 2020, eq. 4) makes synthetic images whose
feature statistics match those a trained network saw: for every BatchNorm layer l, with μ_l and
σ²_l the per-channel mean and (biased) variance of the layer's *input* over the batch (and the
spatial positions), and μ̂_l, σ̂²_l its running statistics,

    R_l = ‖μ_l − μ̂_l‖₂ + ‖σ²_l − σ̂²_l‖₂          (plain L2 norms, not squared)

and the loss is ``Σ_l w_l R_l`` with ``w_1 = first_multiplier`` (10 in the paper's ImageNet
setting) and ``w_l = 1`` otherwise. The teacher stays in eval mode, so its running statistics are
never changed.

FastDFKD (Fang et al., AAAI 2022, "momentum BN") relaxes the match: with momentum m the batch
statistics enter as ``(1 − m)·μ_l + m·μ̄_l``, where μ̄_l is an exponential average of the statistics
of past syntheses (updated by :meth:`BatchNormStatistics.update_momentum`); a batch then matches the
running statistics only on average over batches, leaving room for diversity. The first synthesis
(no average yet) uses the plain loss.

:class:`BatchNormStatistics` registers its hooks only inside ``with`` (the KD steps that follow
must not pay for them, nor see them) and removes them on exit, also on error. It can also return
CMI's instance features: the per-sample channel means of every BN input, concatenated.

Example::

    bn = BatchNormStatistics(teacher, first_multiplier=10.0)
    with bn:
        logits = teacher(images)
        loss = bn.loss()
"""

from __future__ import annotations

import torch
from torch import nn

from graphdistill.core.errors import UserError

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def batch_norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The model's BatchNorm layers that track running statistics, in registration order."""
    return [m for m in model.modules() if isinstance(m, _BATCH_NORMS) and m.track_running_stats]


def require_batchnorm(model: nn.Module, method: str) -> None:
    """Refuse a model without BatchNorm running statistics, with what to do instead."""
    if not batch_norm_layers(model):
        raise UserError(f"{method} matches the teacher's BatchNorm running statistics, but the teacher "
                        f"({type(model).__name__}) has no BatchNorm layer; train a BN teacher "
                        f"(e.g. `graphdistill teacher mnist --arch lenet5-bn`) or use a generator-based "
                        f"method (dafl, dfad, rdskd, zskt)")


def channel_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of a (B, C, ...) tensor over every other dimension."""
    dims = [0, *range(2, x.dim())]
    return x.mean(dims), x.var(dims, unbiased=False)


def statistics_distance(mean: torch.Tensor, var: torch.Tensor, running_mean: torch.Tensor,
                        running_var: torch.Tensor) -> torch.Tensor:
    """``‖μ − μ̂‖₂ + ‖σ² − σ̂²‖₂`` (DeepInversion's R_l)."""
    return torch.linalg.vector_norm(mean - running_mean) + torch.linalg.vector_norm(var - running_var)


class BatchNormStatistics:
    """Forward hooks on every BatchNorm of ``model`` that record its input statistics.

    Args:
        model: the teacher (eval mode; it needs at least one BatchNorm layer).
        first_multiplier: weight of the first BN layer's term (DeepInversion: 10 on ImageNet).
        momentum: FastDFKD's momentum m for the batch statistics; ``None`` for the plain loss.
        keep_features: also keep the per-sample channel means of each BN input (CMI's features).
    """

    def __init__(self, model: nn.Module, first_multiplier: float = 1.0, momentum: float | None = None,
                 keep_features: bool = False) -> None:
        self.layers = batch_norm_layers(model)
        if not self.layers:
            raise UserError(f"{type(model).__name__} has no BatchNorm layer with running statistics")
        if momentum is not None and not 0 <= momentum < 1:
            raise UserError(f"BN momentum must be in [0, 1), got {momentum}")
        self.first_multiplier, self.momentum, self.keep_features = first_multiplier, momentum, keep_features
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._stats: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(self.layers)
        self._features: list[torch.Tensor | None] = [None] * len(self.layers)
        self.averages: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # momentum statistics

    @property
    def active(self) -> bool:
        return bool(self._handles)

    def __enter__(self) -> BatchNormStatistics:
        if self._handles:
            raise RuntimeError("BatchNormStatistics is already active")
        self._handles = [layer.register_forward_hook(self._recorder(i)) for i, layer in enumerate(self.layers)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _recorder(self, index: int):
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output) -> None:
            x = inputs[0]
            self._stats[index] = channel_statistics(x)
            if self.keep_features:
                self._features[index] = x.flatten(2).mean(2) if x.dim() > 2 else x
        return hook

    def _recorded(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if any(s is None for s in self._stats):
            raise RuntimeError("run the model inside the `with` block before asking for the BN loss")
        return self._stats  # type: ignore[return-value]

    def loss(self) -> torch.Tensor:
        """``Σ_l w_l R_l`` for the latest forward pass (momentum-mixed statistics when enabled)."""
        total = None
        for i, (layer, (mean, var)) in enumerate(zip(self.layers, self._recorded(), strict=True)):
            if self.momentum is not None and self.averages is not None:
                avg_mean, avg_var = self.averages[i]
                mean = (1 - self.momentum) * mean + self.momentum * avg_mean
                var = (1 - self.momentum) * var + self.momentum * avg_var
            term = statistics_distance(mean, var, layer.running_mean, layer.running_var)
            term = term * (self.first_multiplier if i == 0 else 1.0)
            total = term if total is None else total + term
        return total

    def features(self) -> torch.Tensor:
        """(B, Σ_l C_l): per-sample channel means of every BN input of the latest forward (CMI)."""
        if not self.keep_features or any(f is None for f in self._features):
            raise RuntimeError("construct with keep_features=True and run the model inside `with` first")
        return torch.cat(self._features, dim=1)  # type: ignore[arg-type]

    @torch.no_grad()
    def update_momentum(self) -> None:
        """μ̄ ← m·μ̄ + (1 − m)·μ (and σ²) from the latest forward; the first call just stores μ, σ²."""
        if self.momentum is None:
            return
        latest = [(m.detach().clone(), v.detach().clone()) for m, v in self._recorded()]
        if self.averages is None:
            self.averages = latest
            return
        m = self.momentum
        self.averages = [(m * am + (1 - m) * bm, m * av + (1 - m) * bv)
                         for (am, av), (bm, bv) in zip(self.averages, latest, strict=True)]

    def state_dict(self) -> dict:
        return {"averages": self.averages}

    def load_state_dict(self, state: dict) -> None:
        self.averages = state["averages"]


def total_variation(x: torch.Tensor, p: int = 2) -> torch.Tensor:
    """DeepInversion's total variation over four directions (right, down, and both diagonals).

    ``p = 2``: the sum of the L2 norms of the four difference tensors (the paper's R_TV with its
    reference's TV-L2); ``p = 1``: the sum of their mean absolute values (TV-L1).
    """
    diffs = (x[..., :, :-1] - x[..., :, 1:], x[..., :-1, :] - x[..., 1:, :],
             x[..., 1:, :-1] - x[..., :-1, 1:], x[..., :-1, :-1] - x[..., 1:, 1:])
    if p == 2:
        return sum(torch.linalg.vector_norm(d) for d in diffs)
    if p == 1:
        return sum(d.abs().mean() for d in diffs)
    raise ValueError(f"p must be 1 or 2, got {p}")


def l2_prior(x: torch.Tensor) -> torch.Tensor:
    """DeepInversion's image-norm prior ``‖x‖₂`` over the whole batch."""
    return torch.linalg.vector_norm(x)
