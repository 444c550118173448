"""Losses on logits: Hinton KD and DFAD's L1 discrepancy."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vision.kd.registry import KD_LOSSES


@KD_LOSSES.register("kd")
def hinton_kd(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 4.0,
              labels: torch.Tensor | None = None, alpha: float = 0.0, scale_t2: bool = True) -> torch.Tensor:
    """Knowledge distillation of Hinton, Vinyals & Dean ("Distilling the Knowledge in a Neural
    Network", NIPS 2014 DL workshop).

    ``T² · KL(softmax(t/T) ‖ softmax(s/T))`` averaged over the batch (``batchmean``: summed over
    classes, divided by B — not ``reduction="mean"``, which also divides by C); the T² factor
    (``scale_t2``) keeps gradient magnitudes comparable across temperatures. With ``labels``,
    returns ``alpha · CE(s, y) + (1 − alpha) · KD`` (RepDistiller uses alpha 0.1, T 4).

    Args:
        student_logits, teacher_logits: (B, C). The teacher's are treated as constants.
        temperature: T > 0.

    Example::

        hinton_kd(torch.tensor([[2.0, 0.0]]), torch.tensor([[2.0, 0.0]]))   # tensor(0.)
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(f"logits must both be (B, C), got {tuple(student_logits.shape)} and "
                         f"{tuple(teacher_logits.shape)}")
    log_p_s = F.log_softmax(student_logits / temperature, dim=1)
    log_p_t = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kd = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    if scale_t2:
        kd = kd * temperature**2
    if labels is None:
        return kd
    return alpha * F.cross_entropy(student_logits, labels) + (1 - alpha) * kd


@KD_LOSSES.register("l1")
def l1_discrepancy(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean absolute error between student and teacher logits, averaged over B·C — the discrepancy
    the student minimises and the generator maximises in DFAD (Fang et al., "Data-Free Adversarial
    Distillation", 2019).

    Args:
        student_logits, teacher_logits: (B, C). Gradients flow into both (the generator needs them).

    Example::

        l1_discrepancy(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 4.0]]))   # tensor(1.5000)
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"logit shapes differ: {tuple(student_logits.shape)} vs {tuple(teacher_logits.shape)}")
    return (student_logits - teacher_logits).abs().mean()
