"""Probabilistic knowledge transfer (Passalis & Tefas, "Learning Deep Representations with
Probabilistic Knowledge Transfer", ECCV 2018)."""

from __future__ import annotations

import torch

from vision.kd.registry import KD_LOSSES


def cosine_affinities(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Cosine similarities rescaled to [0, 1] and normalised per row into probabilities (B, B)."""
    unit = x / (x.norm(dim=1, keepdim=True) + eps)
    kernel = (unit @ unit.T + 1) / 2
    return kernel / kernel.sum(1, keepdim=True)


@KD_LOSSES.register("pkt")
def probabilistic_transfer(student_features: torch.Tensor, teacher_features: torch.Tensor,
                           eps: float = 1e-7) -> torch.Tensor:
    """``mean(P_t · log((P_t + ε) / (P_s + ε)))`` over the B × B conditional probabilities.

    The value is tiny in absolute terms (RepDistiller weights it by 30000); it is not rescaled here.
    Args: (B, D_s) and (B, D_t) features (flattened if they are maps).

    Example::

        t = torch.eye(3)
        probabilistic_transfer(t, t)                                            # tensor(0.)
        probabilistic_transfer(torch.tensor([[1.0, 0], [0, 1], [1, 1]]), t)    # tensor(0.0104)
    """
    p_s = cosine_affinities(student_features.flatten(1), eps)
    p_t = cosine_affinities(teacher_features.detach().flatten(1), eps)
    return (p_t * torch.log((p_t + eps) / (p_s + eps))).mean()


