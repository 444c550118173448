"""Distribution matching: synthetic data whose embeddings are distributed like the real data's.

Dataset Condensation with Distribution Matching (DM; Zhao & Bilen, WACV 2023) and GCDM (Liu et
al., 2022) replace bi-level gradient matching by matching, class by class, the distribution of
embeddings that randomly initialised networks give real and synthetic data, measured by the
maximum mean discrepancy (MMD; Gretton et al., JMLR 2012). Two kernels:

* **linear** — the MMD reduces to the squared distance of the class means (DM's objective)::

      L = Σ_c ‖ mean_{x ∈ T_c} ψ(x) − mean_{s ∈ S_c} ψ(s) ‖²

  (:func:`real_class_means`, :func:`mean_embedding_distance`);
* **Gaussian** — a sum of RBF kernels whose bandwidths are multiples of the median pairwise
  squared distance of the real embeddings (the median heuristic), which also matches higher
  moments (:func:`gaussian_mmd`).

This module is modality-agnostic — it sees (…, N, F) embeddings and integer class labels — and
vectorised over classes and over leading batch dimensions (e.g. several random networks at
once, stacked on dimension 0): class means come from one one-hot matrix product, the Gaussian
terms from batched products over class-padded groups, never a Python loop over classes. Real
class sums and counts go through :func:`~graphdistill.core.distributed.reduce_real`, so
data-parallel processes see the means of all the real data (the Gaussian MMD is per process).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from graphdistill.core.distributed import reduce_real

KERNELS = ("linear", "gaussian")


def _check(features: torch.Tensor, labels: torch.Tensor) -> None:
    if features.dim() < 2 or labels.dim() != 1 or labels.shape[0] != features.shape[-2]:
        raise ValueError(f"expected (…, N, F) features and (N,) labels, got {tuple(features.shape)} and "
                         f"{tuple(labels.shape)}")


def class_sums(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class sums (…, C, F) and counts (C,) of (…, N, F) ``features`` with (N,) int ``labels``."""
    _check(features, labels)
    onehot = torch.nn.functional.one_hot(labels, num_classes).to(features.dtype)  # (N, C)
    return onehot.T @ features, onehot.sum(0)


def real_class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(…, C, F) class means of real embeddings, reduced over processes; no graph is kept."""
    with torch.no_grad():
        sums, counts = class_sums(features, labels, num_classes)
        sums, counts = reduce_real(sums, "sum"), reduce_real(counts, "sum")
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"no real examples of class(es) {missing} in this batch")
    return sums / counts.unsqueeze(-1)


def mean_embedding_distance(real_means: torch.Tensor, syn_features: torch.Tensor, syn_labels: torch.Tensor
                            ) -> torch.Tensor:
    """(…, C) squared distances ‖μ_real_c − μ_syn_c‖² (linear-kernel MMD, DM's per-class loss).

    Args:
        real_means: (…, C, F) real class means (targets, e.g. from :func:`real_class_means`).
        syn_features: (…, M, F) synthetic embeddings (differentiable); syn_labels: (M,) ints.

    Classes without synthetic examples contribute 0.
    """
    sums, counts = class_sums(syn_features, syn_labels, real_means.shape[-2])
    present = counts > 0
    syn_means = sums / counts.clamp_min(1).unsqueeze(-1)
    return ((real_means - syn_means).pow(2).sum(-1)) * present.to(real_means.dtype)


def group_by_class(features: torch.Tensor, labels: torch.Tensor, num_classes: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-padded groups: (…, C, P, F) features (P = the largest class count, zero rows as
    padding) and a (C, P) float mask of the rows that hold an example — by one scatter, no loop."""
    _check(features, labels)
    counts = torch.bincount(labels, minlength=num_classes)
    order = torch.argsort(labels, stable=True)
    sorted_labels = labels[order]
    rank = torch.arange(len(labels), device=labels.device) - (torch.cumsum(counts, 0) - counts)[sorted_labels]
    width = max(int(counts.max()), 1) if len(labels) else 1
    slot = sorted_labels * width + rank  # flat (class, position) slot of each example
    lead = features.shape[:-2]
    grouped = features.new_zeros((*lead, num_classes * width, features.shape[-1]))
    grouped = grouped.index_copy(-2, slot, features.index_select(-2, order))
    mask = torch.zeros(num_classes * width, dtype=features.dtype, device=features.device)
    mask[slot] = 1
    return grouped.unflatten(-2, (num_classes, width)), mask.view(num_classes, width)


def _pairwise_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(…, P, Q) squared Euclidean distances of the rows of (…, P, F) and (…, Q, F)."""
    sq = a.pow(2).sum(-1).unsqueeze(-1) + b.pow(2).sum(-1).unsqueeze(-2) - 2 * a @ b.transpose(-1, -2)
    return sq.clamp_min(0)


def median_bandwidth(groups: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The median heuristic: the median squared distance between distinct examples of the same
    class, over all classes, per leading batch entry; (…,) and detached."""
    with torch.no_grad():
        sq = _pairwise_sq(groups, groups)  # (…, C, P, P)
        pair = mask.unsqueeze(-1) * mask.unsqueeze(-2) * (1 - torch.eye(mask.shape[-1], device=mask.device,
                                                                        dtype=mask.dtype))
        flat = sq.flatten(-3)[..., pair.flatten().bool()]
        if flat.shape[-1] == 0:
            return torch.ones(sq.shape[:-3], dtype=sq.dtype, device=sq.device)
        return flat.median(-1).values.clamp_min(torch.finfo(sq.dtype).eps)


def _kernel_mean(a: torch.Tensor, mask_a: torch.Tensor, b: torch.Tensor, mask_b: torch.Tensor,
                 bandwidth: torch.Tensor, scales: Sequence[float]) -> torch.Tensor:
    """(…, C) mean of Σ_s exp(−‖a − b‖² / (s·σ²)) over the valid pairs of each class."""
    sq = _pairwise_sq(a, b)  # (…, C, P, Q)
    sigma = bandwidth.reshape(*bandwidth.shape, 1, 1, 1)
    kernel = sum(torch.exp(-sq / (scale * sigma)) for scale in scales)
    weights = mask_a.unsqueeze(-1) * mask_b.unsqueeze(-2)  # (C, P, Q)
    pairs = weights.sum((-1, -2)).clamp_min(1)
    return (kernel * weights).sum((-1, -2)) / pairs


def gaussian_mmd(real: torch.Tensor, real_labels: torch.Tensor, syn: torch.Tensor, syn_labels: torch.Tensor,
                 num_classes: int, *, scales: Sequence[float] = (0.5, 1.0, 2.0),
                 bandwidth: torch.Tensor | None = None) -> torch.Tensor:
    """(…, C) squared Gaussian-kernel MMD between the real and synthetic examples of each class.

    The biased (V-statistic) estimate MMD² = E k(r, r') + E k(s, s') − 2 E k(r, s) (Gretton et
    al., 2012), ≥ 0, and 0 when both sets are the same. The kernel is Σ_s exp(−‖x − y‖²/(s·σ²))
    over ``scales``; σ² is ``bandwidth`` (…,) or, by default, the median heuristic on the real
    embeddings (:func:`median_bandwidth`, detached). Classes absent from either side give 0.

    Args:
        real: (…, N, F) real embeddings (targets; no gradient is needed); real_labels: (N,).
        syn: (…, M, F) synthetic embeddings (differentiable); syn_labels: (M,).

    Example::

        loss = gaussian_mmd(h_real, y_real, h_syn, y_syn, num_classes).sum()
    """
    real_groups, real_mask = group_by_class(real.detach(), real_labels, num_classes)
    syn_groups, syn_mask = group_by_class(syn, syn_labels, num_classes)
    if bandwidth is None:
        bandwidth = median_bandwidth(real_groups, real_mask)
    with torch.no_grad():
        real_term = _kernel_mean(real_groups, real_mask, real_groups, real_mask, bandwidth, scales)
    syn_term = _kernel_mean(syn_groups, syn_mask, syn_groups, syn_mask, bandwidth, scales)
    cross = _kernel_mean(real_groups, real_mask, syn_groups, syn_mask, bandwidth, scales)
    present = ((real_mask.sum(-1) > 0) & (syn_mask.sum(-1) > 0)).to(syn.dtype)
    return (real_term + syn_term - 2 * cross).clamp_min(0) * present
