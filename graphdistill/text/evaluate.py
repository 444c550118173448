"""Evaluation of a training set (distilled, random real, or all the data) on the real test split.

Protocol (ours, one for every row so they compare): a freshly initialised learner is trained with
Adam (lr 1e-3) on soft-label cross-entropy — one-hot labels for real documents — for a fixed
number of steps (mini-batches of 64; a set smaller than that is one full batch), then its accuracy
on the whole real test split is read once, at the end (BBC has no validation split, so nothing is
selected on test). ``runs`` fresh learners give mean ± std. With ``protocol="unrolled"`` a
distilled set with learned step sizes is instead replayed as it was distilled: T plain gradient
steps with those step sizes (the evaluation of Sucholutsky & Schonlau, IJCNN 2021).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.config import require_at_least
from graphdistill.core.errors import UserError
from graphdistill.core.optim import adam
from graphdistill.core.seed import derive_seed
from graphdistill.text.distill import EmbeddedCorpus, SyntheticText, soft_cross_entropy
from graphdistill.text.learners import build_learner


@dataclass(frozen=True)
class EvalConfig:
    steps: int = 300
    lr: float = 1e-3
    batch: int = 64
    runs: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        require_at_least(self, 1, "steps", "batch", "runs")


@dataclass
class EvalResult:
    accuracies: list[float]
    seconds: float

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    def describe(self) -> str:
        return f"{100 * self.mean:.2f} ± {100 * self.std:.2f} %"

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "accuracies": self.accuracies, "seconds": self.seconds}


def test_accuracy(model: nn.Module, test: EmbeddedCorpus, batch: int = 256) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test), batch):
            index = slice(start, start + batch)
            correct += int((model(test.embed(index)).argmax(1) == test.labels[index]).sum())
    return correct / len(test)


def train_on(x_of: Callable[[torch.Tensor], torch.Tensor], targets: torch.Tensor, model: nn.Module, config: EvalConfig,
             generator: torch.Generator) -> nn.Module:
    """Adam on soft-label CE; ``x_of(index)`` returns the (b, L, D) inputs of rows ``index``."""
    n = len(targets)
    optimizer = adam(model.parameters(), lr=config.lr)
    model.train()
    for _ in range(config.steps):
        index = torch.randint(n, (config.batch,), generator=generator) if n > config.batch else torch.arange(n)
        optimizer.zero_grad(set_to_none=True)
        soft_cross_entropy(model(x_of(index)), targets[index]).backward()
        optimizer.step()
    return model


def replay_unrolled(syn: SyntheticText, model: nn.Module) -> nn.Module:
    """T plain gradient steps with the learned step sizes (no graph), as during distillation."""
    if syn.step_sizes is None:
        raise UserError("this distilled set has no learned step sizes (not from the meta objective)")
    targets = syn.targets()
    for lr in syn.step_sizes.tolist():
        model.train()
        model.zero_grad(set_to_none=True)
        soft_cross_entropy(model(syn.sequences), targets).backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= lr * p.grad
    return model


def evaluate_set(x_of: Callable[[torch.Tensor], torch.Tensor], targets: torch.Tensor, test: EmbeddedCorpus,
                 learner: str, config: EvalConfig, *, replay: SyntheticText | None = None) -> EvalResult:
    """Train ``config.runs`` fresh ``learner`` s on a set and test each (see module docstring)."""
    if not torch.isfinite(targets).all():
        raise UserError("training targets contain NaN or inf")
    accuracies, clock = [], time.perf_counter()
    for run in range(config.runs):
        torch.manual_seed(derive_seed(config.seed, "eval-init", run))
        model = build_learner(learner, test.space.dim, test.num_classes, test.length)
        if replay is not None:
            replay_unrolled(replay, model)
        else:
            generator = torch.Generator().manual_seed(derive_seed(config.seed, "eval-batches", run))
            train_on(x_of, targets, model, config, generator)
        accuracies.append(test_accuracy(model, test))
    return EvalResult(accuracies, time.perf_counter() - clock)


def evaluate_synthetic(syn: SyntheticText, test: EmbeddedCorpus, learner: str, config: EvalConfig,
                       protocol: str = "adam") -> EvalResult:
    if syn.sequences.shape[1:] != (test.length, test.space.dim):
        raise UserError(f"distilled sequences are {tuple(syn.sequences.shape[1:])}, the test data "
                        f"({test.length}, {test.space.dim})")
    if protocol not in ("adam", "unrolled"):
        raise UserError(f"unknown evaluation protocol {protocol!r}: 'adam' or 'unrolled'")
    return evaluate_set(lambda index: syn.sequences[index], syn.targets(), test, learner, config,
                        replay=syn if protocol == "unrolled" else None)


def random_real(train: EmbeddedCorpus, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` random distinct documents of each class (seeded)."""
    g = torch.Generator().manual_seed(derive_seed(seed, "random-real"))
    return torch.cat([m[torch.randperm(len(m), generator=g)[:per_class]] for m in train.class_members()])


def evaluate_real(train: EmbeddedCorpus, index: torch.Tensor | None, test: EmbeddedCorpus, learner: str,
                  config: EvalConfig) -> EvalResult:
    """Hard-label training on the documents ``index`` of ``train`` (all of them when ``None``)."""
    index = torch.arange(len(train)) if index is None else index
    targets = F.one_hot(train.labels[index], train.num_classes).float()
    return evaluate_set(lambda rows: train.embed(index[rows]), targets, test, learner, config)
