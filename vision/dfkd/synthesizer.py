"""The synthesizer protocol shared by every data-free KD method (after Fast-Datafree's design).

A synthesizer makes the data the student learns from, with two verbs kept apart from the KD loop:

* ``synthesize()`` — one round of generator (or image) optimisation; returns a
  :class:`SynthesisReport` with the seconds it took, its losses and a few images to visualise;
* ``sample()`` — a batch of images for one KD step (no gradient to the synthesizer).

The loop (:mod:`vision.dfkd.loop`) times the two separately, so synthesis cost is a first-class
output. ``state_dict()`` / ``load_state_dict()`` let a run resume from its checkpoint, and
``start_epoch(epoch)`` lets a synthesizer refresh per-epoch state (RDSKD's reference losses).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch
from torch import nn

from graphdistill.core.errors import UserError


@dataclass
class SynthesisReport:
    """What one ``synthesize()`` call did: wall seconds, loss terms, and images to show (or None)."""

    seconds: float
    losses: dict[str, float] = field(default_factory=dict)
    images: torch.Tensor | None = None


class Synthesizer(ABC):
    """Base class of data-free synthesizers (generator-based here, inversion-based in the next issue)."""

    @abstractmethod
    def synthesize(self) -> SynthesisReport:
        """One round of synthesis (generator or image updates)."""

    @abstractmethod
    def sample(self) -> torch.Tensor:
        """A (B, C, H, W) batch for the student, detached from the synthesizer."""

    def start_epoch(self, epoch: int) -> None:  # noqa: B027  (optional hook, default: nothing)
        """Called by the loop before the first ``synthesize()`` of each epoch."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to resume (weights, optimiser state, RNG-independent counters)."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


def frozen_logits(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``model(images)`` with gradients to the images only: the model's weights get no gradient and
    its BatchNorm statistics are left as they are (a synthesis step is not a student step)."""
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        return model(images)
    finally:
        model.train(was_training)
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def check_student(teacher: nn.Module, student: nn.Module) -> None:
    """Refuse the wiring that silently zeroes every adversarial term (student = teacher)."""
    if student is teacher:
        raise UserError("the student passed to the synthesizer is the teacher itself; the adversarial "
                        "term would be identically zero — pass the student being trained")
    shared = {id(p) for p in teacher.parameters()} & {id(p) for p in student.parameters()}
    if shared:
        raise UserError("the student shares parameters with the teacher; pass an independent student")
