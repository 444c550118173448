"""Ranking metrics of implicit-feedback recommendation, batched over users (no Python loop).

For each user with at least one target item, items already seen (train at validation time,
train + validation at test time) are masked, the top-k of the remaining scores are compared
with the targets, and the per-user values are averaged (×100). With n the user's number of
targets and w_i = 1/p_i the inverse propensity of item i:

* HR@k   = |top-k ∩ targets| / min(n, k)        (recall-style, as Distill-CF; not "any hit")
* nDCG@k = Σ_{hits at rank r} 1/log2(r + 1) / Σ_{r ≤ min(n, k)} 1/log2(r + 1)
* PSP@k  = Σ_{hits} w_i / (sum of the min(n, k) largest w among the targets): propensity-scored
  precision (Jain, Prabhu & Varma, KDD 2016), normalised to 1 for a perfect ranking. Distill-CF's
  code divides the numerator once more by min(n, k); its PSP values are ours divided by that.
* AUC    = fraction of (target, sampled negative) pairs ranked correctly (ties count ½), per user.

Propensities follow Jain et al. with A = 0.55, B = 1.5 and, as Distill-CF's code, N = the number
of training interactions: p_i = 1 / (1 + C (N_i + B)^-A), C = (log N − 1)(B + 1)^A.

Example::

    scores = learner.scores(context)                    # (n_users, n_items)
    ranking_metrics(scores, targets=val, seen=train)    # {"HR@10": ..., "nDCG@10": ..., ...}
"""

from __future__ import annotations

import math

import numpy as np
import torch

KS = (10, 100)


def inverse_propensity(item_counts: np.ndarray | torch.Tensor, num_interactions: int, a: float = 0.55,
                       b: float = 1.5) -> torch.Tensor:
    """(n_items,) w_i = 1/p_i of Jain et al. (KDD 2016) from per-item interaction counts."""
    counts = torch.as_tensor(item_counts, dtype=torch.float64)
    c = (math.log(num_interactions) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (counts + b).pow(-a)


def ranking_metrics(scores: torch.Tensor, targets: torch.Tensor, seen: torch.Tensor, *,
                    weights: torch.Tensor | None = None, negatives: torch.Tensor | None = None,
                    ks: tuple[int, ...] = KS) -> dict[str, float]:
    """Mean metrics (×100; AUC in [0, 1]) over the users with at least one target.

    Args:
        scores: (users, items) predicted scores.
        targets: (users, items) 1 for the held-out items to find.
        seen: (users, items) 1 for the items to mask (already consumed).
        weights: (items,) inverse propensities for PSP@k (omitted: no PSP).
        negatives: (users, m) sampled negative item indices for AUC (omitted: no AUC).
    """
    sums, users = _metric_sums(scores, targets, seen, weights, negatives, ks)
    return {name: value / max(users, 1) for name, value in sums.items()}


def _metric_sums(scores, targets, seen, weights, negatives, ks) -> tuple[dict[str, float], int]:
    if scores.shape != targets.shape or scores.shape != seen.shape:
        raise ValueError(f"scores, targets and seen must have one shape, got {tuple(scores.shape)}, "
                         f"{tuple(targets.shape)}, {tuple(seen.shape)}")
    targets = targets > 0
    n_targets = targets.sum(1)
    active = n_targets > 0
    scores, targets, seen, n_targets = scores[active], targets[active], seen[active] > 0, n_targets[active]
    kmax = min(max(ks), scores.shape[1])
    masked = scores.masked_fill(seen, float("-inf"))
    top = masked.topk(kmax, dim=1).indices
    hits = targets.gather(1, top).double()
    discounts = 1.0 / torch.log2(torch.arange(2, kmax + 2, dtype=torch.float64, device=scores.device))
    ideal = torch.cumsum(discounts, 0)
    sums: dict[str, float] = {}
    for k in ks:
        k = min(k, kmax)
        relevant = n_targets.clamp(max=k)
        sums[f"HR@{k}"] = float((hits[:, :k].sum(1) / relevant).sum()) * 100
        dcg = (hits[:, :k] * discounts[:k]).sum(1)
        sums[f"nDCG@{k}"] = float((dcg / ideal[relevant - 1]).sum()) * 100
        if weights is not None:
            w = weights.to(scores.device, torch.float64)
            gained = (hits[:, :k] * w[top[:, :k]]).sum(1)
            best = (targets.double() * w).topk(k, dim=1).values.sum(1)  # non-targets weigh 0
            sums[f"PSP@{k}"] = float((gained / best).sum()) * 100
    if negatives is not None:
        sums["AUC"] = float(_auc(scores, targets, negatives[active.cpu()].to(scores.device)).sum())
    return sums, int(active.sum())


def _auc(scores: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Per-user AUC of targets against sampled negatives, via ranks in the sorted negatives."""
    negative_scores = scores.gather(1, negatives).sort(dim=1).values.contiguous()
    below = torch.searchsorted(negative_scores, scores.contiguous(), right=False)  # strictly lower
    not_above = torch.searchsorted(negative_scores, scores.contiguous(), right=True)
    pair_wins = (below + not_above).double() / 2  # ties count one half
    wins = (pair_wins * targets).sum(1)
    return wins / (targets.sum(1) * negatives.shape[1])


def evaluate_scores(score_fn, context: torch.Tensor, targets: torch.Tensor, seen: torch.Tensor, *,
                    weights: torch.Tensor | None = None, negatives: torch.Tensor | None = None,
                    ks: tuple[int, ...] = KS, batch: int = 4096) -> dict[str, float]:
    """:func:`ranking_metrics` of ``score_fn(context rows)`` in batches of users, so that
    the (users, items) score matrix never has to exist whole."""
    totals: dict[str, float] = {}
    users = 0
    for start in range(0, context.shape[0], batch):
        rows = slice(start, start + batch)
        sums, active = _metric_sums(score_fn(context[rows]), targets[rows], seen[rows], weights,
                                    None if negatives is None else negatives[rows], ks)
        for name, value in sums.items():
            totals[name] = totals.get(name, 0.0) + value
        users += active
    return {name: value / max(users, 1) for name, value in totals.items()}
