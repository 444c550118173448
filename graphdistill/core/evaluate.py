"""The evaluation protocol shared by every modality.

A synthetic set is judged by training fresh models on it and testing them on real data.
:func:`fit_select_on_val` trains one model and keeps the epoch with the best *validation* score,
as GCond (Jin et al., ICLR 2022) does — never the test score (REFERENCE 0.2 lists codebases that
select on test, which inflates numbers). :func:`repeat_runs` does that for N seeds and reports
test mean ± std. Run ``i`` is seeded from ``(seed, i)`` alone, so an interrupted evaluation
resumed later gives exactly the numbers an uninterrupted one would (on CPU).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.core.optim import adam
from graphdistill.core.seed import derive_seed, seed_everything


@dataclass
class RunScore:
    """One trained model: its seed, best-validation epoch and the scores at that epoch."""

    seed: int
    val: float
    test: float
    best_epoch: int
    seconds: float
    curves: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Summary:
    """Test mean ± std (population std, ``numpy.std``'s default, as the reference code uses)."""

    runs: list[RunScore]

    @property
    def test_mean(self) -> float:
        return _mean([r.test for r in self.runs])

    @property
    def test_std(self) -> float:
        return _std([r.test for r in self.runs])

    @property
    def val_mean(self) -> float:
        return _mean([r.val for r in self.runs])

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    def describe(self, scale: float = 100.0) -> str:
        return f"{scale * self.test_mean:.2f} ± {scale * self.test_std:.2f}"

    def to_dict(self) -> dict:
        return {
            "test_mean": self.test_mean, "test_std": self.test_std, "val_mean": self.val_mean,
            "runs": len(self.runs), "seconds": self.seconds,
            "per_run": [{k: v for k, v in r.to_dict().items() if k != "curves"} for r in self.runs],
        }


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _std(xs: Sequence[float]) -> float:
    if not xs:
        return math.nan
    mu = _mean(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / len(xs))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of one evaluation model.

    Defaults: the evaluator of GCond (Jin et al., ICLR 2022; official ``models/gcn.py``) — Adam,
    lr 0.01, weight decay 5e-4, 600 epochs; at half the epochs a *fresh* Adam with lr ×0.1
    (``restart_at_decay``: the moment estimates start over, as in that code).
    """

    epochs: int = 600
    lr: float = 0.01
    weight_decay: float = 5e-4
    lr_decay_at: float | None = 0.5  # fraction of epochs after which lr is multiplied by lr_decay
    lr_decay: float = 0.1
    restart_at_decay: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise UserError(f"epochs must be a whole number ≥ 1, got {self.epochs!r}")
        for name in ("lr", "weight_decay", "lr_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
                raise UserError(f"{name} must be a finite number ≥ 0, got {value!r}")
        if self.lr_decay_at is not None and not 0 < self.lr_decay_at <= 1:
            raise UserError(f"lr_decay_at must be in (0, 1] or None, got {self.lr_decay_at!r}")

    def optimizer(self, model: nn.Module, lr: float) -> torch.optim.Optimizer:
        return adam(model.parameters(), lr=lr, weight_decay=self.weight_decay)


def fit_select_on_val(
    model: nn.Module,
    loss_fn: Callable[[nn.Module], torch.Tensor],
    score_fn: Callable[[nn.Module], dict[str, float]],
    config: TrainConfig,
    steps_per_epoch: int = 1,
) -> tuple[int, dict[str, float], dict[str, list[float]]]:
    """Train ``model`` with Adam and return (best epoch, scores at it, per-epoch curves).

    On return ``model`` holds the weights of the best-validation epoch.

    ``loss_fn(model)`` computes the training loss (model in train mode); ``score_fn(model)``
    returns at least ``{"val": ...}`` (model in eval mode, no grad). The best epoch is the first
    with the highest validation score; other scores (e.g. ``"test"``) are read at that epoch
    only. ``steps_per_epoch`` > 1 runs that many optimiser steps per epoch (minibatches:
    ``loss_fn`` then returns the loss of the next batch); the loss curve holds their mean.
    """
    optimizer = config.optimizer(model, config.lr)
    decay_epoch = int(config.epochs * config.lr_decay_at) if config.lr_decay_at else None
    best_epoch, best = -1, {"val": -math.inf}
    curves: dict[str, list[float]] = {"loss": [], "val": []}
    for epoch in range(config.epochs):
        if epoch == decay_epoch:
            if config.restart_at_decay:
                optimizer = config.optimizer(model, config.lr * config.lr_decay)
            else:
                for group in optimizer.param_groups:
                    group["lr"] *= config.lr_decay
        model.train()
        loss = 0.0
        for _ in range(steps_per_epoch):
            optimizer.zero_grad(set_to_none=True)
            step_loss = loss_fn(model)
            step_loss.backward()
            optimizer.step()
            loss = loss + step_loss.detach() / steps_per_epoch
        model.eval()
        with torch.no_grad():
            scores = score_fn(model)
        curves["loss"].append(float(loss))
        curves["val"].append(float(scores["val"]))
        if scores["val"] > best["val"]:
            best_epoch, best = epoch, dict(scores)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_epoch >= 0:
        model.load_state_dict(best_state)
    return best_epoch, best, curves


def repeat_runs(
    run_once: Callable[[int], RunScore],
    runs: int,
    seed: int,
    done: Iterable[RunScore] = (),
    on_run_done: Callable[[list[RunScore]], None] | None = None,
    progress: Callable[[Iterable[int]], Iterable[int]] = lambda it: it,
) -> Summary:
    """Call ``run_once(run_seed)`` for runs not yet in ``done``; seeds depend on (seed, i) only.

    ``on_run_done(all_scores_so_far)`` is called after every run — the place to checkpoint.
    """
    scores = list(done)
    if len(scores) > runs:
        raise ValueError(f"{len(scores)} runs already done but only {runs} requested")
    for i in progress(range(len(scores), runs)):
        run_seed = derive_seed(seed, "eval", i)
        seed_everything(run_seed)
        start = time.perf_counter()
        score = run_once(run_seed)
        score.seconds = time.perf_counter() - start
        scores.append(score)
        if on_run_done is not None:
            on_run_done(scores)
    return Summary(scores)
