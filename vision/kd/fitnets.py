"""FitNets hints (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vision.kd.registry import KD_LOSSES


@KD_LOSSES.register("fitnets")
class HintLoss(nn.Module):
    """``MSE(regressor(f_s), f_t)`` at one hint layer, the regressor mapping the student's feature
    shape to the teacher's: a 1×1 conv + BatchNorm for maps (after average pooling to the teacher's
    spatial size when the student's is larger), a linear layer for vectors.

    This is the one-stage variant (hint loss added to the KD objective, as RepDistiller trains it,
    β = 100); the paper's two-stage variant trains with this loss alone first, then with KD.

    Args:
        student_shape, teacher_shape: feature shapes without the batch axis, e.g. (8, 5, 5), (16, 5, 5).

    Example::

        hint = HintLoss((8, 5, 5), (16, 5, 5))
        loss = hint(torch.randn(4, 8, 5, 5), torch.randn(4, 16, 5, 5))
    """

    def __init__(self, student_shape: tuple[int, ...], teacher_shape: tuple[int, ...]) -> None:
        super().__init__()
        if len(student_shape) != len(teacher_shape) or len(student_shape) not in (1, 3):
            raise ValueError(f"hint features must both be vectors (C,) or maps (C, H, W); got {student_shape}, "
                             f"{teacher_shape}")
        self.teacher_shape = tuple(teacher_shape)
        if len(student_shape) == 1:
            self.regressor: nn.Module = nn.Linear(student_shape[0], teacher_shape[0])
        else:
            if student_shape[1] < teacher_shape[1] or student_shape[2] < teacher_shape[2]:
                raise ValueError(f"student map {student_shape[1:]} is smaller than the teacher's {teacher_shape[1:]}")
            self.regressor = nn.Sequential(
                nn.AdaptiveAvgPool2d(teacher_shape[1:]), nn.Conv2d(student_shape[0], teacher_shape[0], 1),
                nn.BatchNorm2d(teacher_shape[0]))

    @classmethod
    def from_shapes(cls, student_shape: tuple[int, ...], teacher_shape: tuple[int, ...]) -> HintLoss:
        """The loss for features of these shapes (how :class:`~vision.kd.objective.KDObjective` builds it)."""
        return cls(student_shape, teacher_shape)

    def forward(self, student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.regressor(student_features), teacher_features.detach())
