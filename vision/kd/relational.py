"""Relational KD (Park, Kim, Lu & Cho, "Relational Knowledge Distillation", CVPR 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vision.kd.registry import KD_LOSSES


def pairwise_distances(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Euclidean distances (B, B) with a zero diagonal; squared distances clamped at ``eps``."""
    squared = x.pow(2).sum(1)
    d2 = (squared.unsqueeze(0) + squared.unsqueeze(1) - 2 * x @ x.T).clamp(min=eps)
    d = d2.sqrt()
    return d * (1 - torch.eye(len(x), dtype=x.dtype, device=x.device))


def rkd_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 between pairwise distances, each normalised by its mean over the off-diagonal pairs."""
    def normalised(x: torch.Tensor) -> torch.Tensor:
        d = pairwise_distances(x)
        return d / d[d > 0].mean()
    return F.smooth_l1_loss(normalised(student), normalised(teacher))


def rkd_angle(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 between the cosines of the angles ∠(x_i − x_j, x_k − x_j) over all triplets."""
    def cosines(x: torch.Tensor) -> torch.Tensor:
        diff = F.normalize(x.unsqueeze(0) - x.unsqueeze(1), p=2, dim=2)  # (B, B, D): row j holds x_i − x_j
        return torch.bmm(diff, diff.transpose(1, 2)).flatten()
    return F.smooth_l1_loss(cosines(student), cosines(teacher))


@KD_LOSSES.register("rkd")
def relational_kd(student_features: torch.Tensor, teacher_features: torch.Tensor, distance_weight: float = 25.0,
                  angle_weight: float = 50.0) -> torch.Tensor:
    """``distance_weight · RKD-D + angle_weight · RKD-A`` on flattened embeddings (B, D_s), (B, D_t).

    Defaults 25 / 50 are RepDistiller's CIFAR-100 weights; the paper's metric-learning ones are 1 / 2
    — always state which.

    Example::

        t = torch.eye(3)
        relational_kd(t, t)                                            # tensor(0.)
        relational_kd(torch.tensor([[1.0, 0], [0, 1], [1, 1]]), t)    # tensor(0.8671)
    """
    s, t = student_features.flatten(1), teacher_features.detach().flatten(1)
    return distance_weight * rkd_distance(s, t) + angle_weight * rkd_angle(s, t)
