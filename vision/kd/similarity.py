"""Similarity-preserving KD (Tung & Mori, "Similarity-Preserving Knowledge Distillation", ICCV 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vision.kd.registry import KD_LOSSES


@KD_LOSSES.register("sp")
def similarity_preserving(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """``‖G_t − G_s‖_F² / B²`` with ``G = row_normalise(F Fᵀ)`` over flattened features (B × B).

    Args:
        student_features, teacher_features: (B, ...) with the same B; the feature sizes may differ.
        The value depends on B: compare runs at one batch size.

    Example::

        t = torch.eye(3)
        similarity_preserving(t, t)                                            # tensor(0.)
        similarity_preserving(torch.tensor([[1.0, 0], [0, 1], [1, 1]]), t)    # tensor(0.1710)
    """
    if student_features.shape[0] != teacher_features.shape[0]:
        raise ValueError("student and teacher features need the same batch size")
    b = student_features.shape[0]
    fs, ft = student_features.flatten(1), teacher_features.detach().flatten(1)
    gs, gt = F.normalize(fs @ fs.T, dim=1), F.normalize(ft @ ft.T, dim=1)
    return (gt - gs).pow(2).sum() / b**2
