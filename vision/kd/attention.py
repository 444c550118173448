"""Attention transfer (Zagoruyko & Komodakis, "Paying More Attention to Attention", ICLR 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vision.kd.registry import KD_LOSSES


def attention_map(features: torch.Tensor, p: float = 2.0, mode: str = "code") -> torch.Tensor:
    """Spatial attention of (B, C, H, W) features: ``normalize(mean_c |f|^p)`` flattened to (B, H·W)
    (``mode="paper"`` sums over channels instead; after the L2 normalisation the two are equal)."""
    powered = features.abs().pow(p) if p != 2 else features.pow(2)
    pooled = powered.mean(1) if mode == "code" else powered.sum(1)
    return F.normalize(pooled.flatten(1), dim=1)


@KD_LOSSES.register("at")
def attention_transfer(student_features: torch.Tensor, teacher_features: torch.Tensor, p: float = 2.0,
                       mode: str = "code") -> torch.Tensor:
    """Attention-transfer loss between one student and one teacher feature map.

    ``mode="code"`` (default, the official code and RepDistiller/ZSKT): mean over batch and positions
    of ``(a_s − a_t)²``. ``mode="paper"`` (Eq. 2 of the paper): the L2 norm ``‖a_s − a_t‖₂`` per
    sample, averaged over the batch. The larger map is average-pooled to the smaller one's size.

    Args:
        student_features: (B, C_s, H_s, W_s); teacher_features: (B, C_t, H_t, W_t).

    Example::

        attention_transfer(torch.randn(4, 8, 8, 8), torch.randn(4, 16, 4, 4))
    """
    if mode not in ("code", "paper"):
        raise ValueError(f"mode must be 'code' or 'paper', got {mode!r}")
    s, t = student_features, teacher_features.detach()
    if s.dim() != 4 or t.dim() != 4:
        raise ValueError(f"attention transfer needs (B, C, H, W) maps, got {tuple(s.shape)} and {tuple(t.shape)}")
    if s.shape[-2:] != t.shape[-2:]:
        size = min(s.shape[-2], t.shape[-2]), min(s.shape[-1], t.shape[-1])
        s, t = F.adaptive_avg_pool2d(s, size), F.adaptive_avg_pool2d(t, size)
    diff = attention_map(s, p, mode) - attention_map(t, p, mode)
    return diff.pow(2).mean() if mode == "code" else diff.norm(dim=1).mean()


attention_transfer.kd_layers = "stages"  # KDObjective pairs every stage, not the penultimate layer
