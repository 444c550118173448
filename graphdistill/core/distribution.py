"""Distribution matching: synthetic data whose embeddings are distributed like the real data's.

Dataset Condensation with Distribution Matching (DM; Zhao & Bilen, WACV 2023) and GCDM (Liu et
al., 2022) replace bi-level gradient matching by matching, class by class, the distribution of
embeddings that randomly initialised networks give real and synthetic data. With a linear kernel
the maximum mean discrepancy reduces to the squared distance of the class means (DM's objective)::

    L = Σ_c ‖ mean_{x ∈ T_c} ψ(x) − mean_{s ∈ S_c} ψ(s) ‖²

This module is modality-agnostic — it sees (N, F) embeddings and integer class labels — and
vectorised over classes: the class means come from one one-hot matrix product, not a loop. Real
class sums and counts go through :func:`~graphdistill.core.distributed.reduce_real`, so data-parallel
processes see the means of all the real data.
"""

from __future__ import annotations

import torch

from graphdistill.core.distributed import reduce_real


def class_sums(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class sums (C, F) and counts (C,) of (N, F) ``features`` with (N,) int ``labels``."""
    if features.dim() != 2 or labels.shape != features.shape[:1]:
        raise ValueError(f"expected (N, F) features and (N,) labels, got {tuple(features.shape)} and "
                         f"{tuple(labels.shape)}")
    onehot = torch.nn.functional.one_hot(labels, num_classes).to(features.dtype)  # (N, C)
    return onehot.T @ features, onehot.sum(0)


def real_class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, F) class means of real embeddings, reduced over processes; no graph is kept."""
    with torch.no_grad():
        sums, counts = class_sums(features, labels, num_classes)
        sums, counts = reduce_real(sums, "sum"), reduce_real(counts, "sum")
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"no real examples of class(es) {missing} in this batch")
    return sums / counts.unsqueeze(1)


def mean_embedding_distance(real_means: torch.Tensor, syn_features: torch.Tensor, syn_labels: torch.Tensor
                            ) -> torch.Tensor:
    """(C,) squared distances ‖μ_real_c − μ_syn_c‖² (linear-kernel MMD, DM's per-class loss).

    Args:
        real_means: (C, F) real class means (targets, e.g. from :func:`real_class_means`).
        syn_features: (M, F) synthetic embeddings (differentiable); syn_labels: (M,) ints.
    """
    sums, counts = class_sums(syn_features, syn_labels, real_means.shape[0])
    present = counts > 0
    syn_means = sums / counts.clamp_min(1).unsqueeze(1)
    return ((real_means - syn_means).pow(2).sum(1)) * present.to(real_means.dtype)
