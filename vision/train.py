"""Training and testing classifiers on real images: teachers, and the real-data KD ceiling.

* :func:`accuracy` — top-1 on an :class:`~vision.data.ImageSet`, batched, no grad;
* :func:`train_classifier` — cross-entropy training (Adam, cosine schedule), optionally keeping
  teacher checkpoints every ``anchor_every`` epochs for RCO (:mod:`vision.kd.rco`);
* :func:`distill_on_data` — a student trained on real images against a teacher (or an RCO route)
  with any logit KD loss: the reference ceiling that data-free KD is compared with.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.config import require_at_least
from graphdistill.core.errors import UserError
from graphdistill.core.optim import adam
from vision.data import ImageSet
from vision.kd.logits import hinton_kd
from vision.kd.objective import KDObjective
from vision.kd.rco import RouteSchedule


@torch.no_grad()
def accuracy(model: nn.Module, data: ImageSet, batch_size: int = 2000) -> float:
    """Top-1 accuracy in [0, 1]; the model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for x, y in data.batches(batch_size):
        correct += (model(x.to(device)).argmax(1).cpu() == y).sum().item()
    model.train(was_training)
    return correct / len(data)


@dataclass(frozen=True)
class TrainConfig:
    """Adam with a cosine learning-rate schedule over all steps (defaults train LeNet-5 on MNIST
    to ≥ 99.0 % in about two minutes on two CPU cores)."""

    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        require_at_least(self, 1, "epochs", "batch_size")
        if not self.lr > 0:
            raise UserError(f"lr must be > 0, got {self.lr}")
        if not self.weight_decay >= 0:
            raise UserError(f"weight_decay must be ≥ 0, got {self.weight_decay}")


DEFAULT_TRAINING = TrainConfig()


def _fit(model: nn.Module, train: ImageSet, config: TrainConfig, seed: int,
         step_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
         on_epoch_end: Callable[[int], None] | None = None, test: ImageSet | None = None,
         extra_params: list[torch.Tensor] | None = None) -> dict:
    """The shared mini-batch loop: shuffled epochs, Adam, cosine decay per step, curves."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    optimizer = adam(list(model.parameters()) + list(extra_params or []), config.lr, config.weight_decay)
    steps = config.epochs * math.ceil(len(train) / config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    history = {"loss": [], "test": [], "seconds": []}
    start = time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        total, count = 0.0, 0
        for x, y in train.batches(config.batch_size, shuffle=True, generator=generator):
            loss = step_loss(x.to(device), y.to(device), epoch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total, count = total + loss.item() * len(y), count + len(y)
        history["loss"].append(total / count)
        history["seconds"].append(time.perf_counter() - start)
        if test is not None:
            history["test"].append(accuracy(model, test))
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    return history


def train_classifier(model: nn.Module, train: ImageSet, config: TrainConfig = DEFAULT_TRAINING, seed: int = 0,
                     test: ImageSet | None = None, anchor_every: int | None = None) -> dict:
    """Train ``model`` with cross-entropy; returns ``{"loss", "test", "seconds", "anchors"}`` where
    ``anchors`` are copies of the model after every ``anchor_every``-th epoch (and the last)."""
    check_compatible(model, train)
    anchors: list[nn.Module] = []

    def keep_anchor(epoch: int) -> None:
        if anchor_every and ((epoch + 1) % anchor_every == 0 or epoch + 1 == config.epochs):
            anchors.append(copy.deepcopy(model).eval())

    torch.manual_seed(seed)
    history = _fit(model, train, config, seed, lambda x, y, _: F.cross_entropy(model(x), y), keep_anchor, test)
    model.eval()
    return {**history, "anchors": anchors}


def distill_on_data(student: nn.Module, teacher: nn.Module | RouteSchedule, train: ImageSet,
                    config: TrainConfig = DEFAULT_TRAINING, seed: int = 0, test: ImageSet | None = None,
                    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                    objective: KDObjective | None = None) -> dict:
    """KD on real images (labels unused): ``loss(student_logits, teacher_logits)``, default Hinton
    KD with T = 4; or ``objective``, a :class:`~vision.kd.objective.KDObjective` over this student
    (KD plus a registered feature loss, its own parameters trained with the student's).
    ``teacher`` may be an RCO :class:`~vision.kd.rco.RouteSchedule`, with either."""
    route = teacher if isinstance(teacher, RouteSchedule) else None
    first = route.teacher_at(0) if route else teacher
    check_compatible(first, train)
    check_compatible(student, train)
    if route is not None and route.epochs != config.epochs:
        raise UserError(f"the RCO route spans {route.epochs} epochs but the student trains {config.epochs}")
    criterion = loss or (lambda s, t: hinton_kd(s, t, temperature=4.0))

    if objective is not None and objective.student is not student:
        raise UserError("the KD objective was built for another student")

    def step_loss(x: torch.Tensor, _y: torch.Tensor, epoch: int) -> torch.Tensor:
        current = route.teacher_at(epoch) if route else teacher
        if objective is not None:
            return objective(x, current)
        with torch.no_grad():
            t_logits = current(x)
        return criterion(student(x), t_logits)

    for t in (route.anchors if route else [teacher]):
        t.eval()
    torch.manual_seed(seed)
    extra = objective.train().parameters() if objective is not None else None
    history = _fit(student, train, config, seed, step_loss, test=test, extra_params=extra)
    student.eval()
    return history


def check_compatible(model: nn.Module, data: ImageSet) -> None:
    """A clear error, before training, when a model cannot take the data or has the wrong classes."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(data.images[:2].to(device))
    except (RuntimeError, UserError) as err:
        raise UserError(f"{type(model).__name__} cannot take {data.name} images of shape {data.shape}: "
                        f"{str(err).splitlines()[0]}") from err
    finally:
        model.train(was_training)
    if out.dim() != 2 or out.shape[1] != data.num_classes:
        raise UserError(f"{type(model).__name__} outputs {tuple(out.shape[1:])} but {data.name} has "
                        f"{data.num_classes} classes")
