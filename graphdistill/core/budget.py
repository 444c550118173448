"""Budgets: how many synthetic items to make, stated explicitly.

The field mixes two meanings of a graph "ratio" (REFERENCE 0.1): GCond's code takes a fraction of
the *training* nodes while its paper quotes the fraction of the *whole* graph. We accept a number
or a ratio with an explicit base and always print the absolute number with both percentages.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from graphdistill.core.errors import UserError

RATIO_BASES = ("train", "full")


@dataclass(frozen=True)
class Budget:
    """A resolved budget: ``size`` items out of ``n_train`` training items (``n_full`` in all)."""

    size: int
    n_train: int
    n_full: int
    unit: str = "nodes"

    @classmethod
    def resolve(
        cls,
        *,
        n_train: int,
        n_full: int,
        budget: int | None = None,
        ratio: float | None = None,
        ratio_of: str = "train",
        unit: str = "nodes",
    ) -> Budget:
        """Check and resolve ``budget`` (a count) or ``ratio`` (of ``ratio_of`` items).

        Raises :class:`UserError` for a missing/duplicate setting, a ratio outside (0, 1], or a
        count that is not in [1, n_train]. A count equal to ``n_train`` is allowed: it is GCond's
        ``r = 1`` setting (e.g. 140 synthetic nodes for Cora's 140 labelled nodes).
        """
        if (budget is None) == (ratio is None):
            raise UserError("give exactly one of a budget (a number of items) or a ratio")
        if ratio is not None:
            if ratio_of not in RATIO_BASES:
                raise UserError(f"ratio_of must be one of {RATIO_BASES}, got {ratio_of!r}")
            if not 0 < ratio <= 1:
                raise UserError(f"ratio must be in (0, 1], got {ratio}")
            base = n_train if ratio_of == "train" else n_full
            budget = int(round(ratio * base))
            if budget < 1:
                raise UserError(
                    f"ratio {ratio} of {base} {ratio_of} {unit} rounds to 0 {unit}; use a larger ratio"
                )
        assert budget is not None
        if isinstance(budget, bool) or int(budget) != budget:
            raise UserError(f"budget must be a whole number of {unit}, got {budget!r}")
        budget = int(budget)
        if budget <= 0:
            raise UserError(f"budget must be a positive number of {unit}, got {budget}")
        if budget > n_train:
            raise UserError(
                f"budget {budget} exceeds the {n_train} training {unit}; "
                f"use at most {n_train} (or a ratio ≤ 1 of the training {unit})"
            )
        return cls(size=budget, n_train=n_train, n_full=n_full, unit=unit)

    @property
    def ratio_of_train(self) -> float:
        return self.size / self.n_train

    @property
    def ratio_of_full(self) -> float:
        return self.size / self.n_full

    def describe(self) -> str:
        return (
            f"{self.size} {self.unit} = {100 * self.ratio_of_train:.1f}% of {self.n_train} "
            f"training {self.unit} = {100 * self.ratio_of_full:.2f}% of all {self.n_full} {self.unit}"
        )


def allocate_per_class(labels: torch.Tensor, total: int, num_classes: int | None = None) -> torch.Tensor:
    """Split ``total`` synthetic items over classes in proportion to the real class sizes.

    The rule of GCond (REFERENCE 0.1): class ``c`` gets ``max(1, floor(n_c * r))`` with
    ``r = total / n``, and the largest class absorbs the difference so the counts sum to
    exactly ``total``. Classes absent from ``labels`` get 0.

    Args:
        labels: (n,) int64 class of each real training item.
        total: number of synthetic items wanted.

    Returns:
        (num_classes,) int64 counts summing to ``total``; no present class gets 0 and none gets
        more than it has real items.
    """
    counts = torch.bincount(labels, minlength=num_classes or 0)
    present = counts > 0
    n_present = int(present.sum())
    if total < n_present:
        raise UserError(
            f"budget {total} is smaller than the {n_present} classes present; every class needs "
            f"at least one synthetic item, so use a budget ≥ {n_present}"
        )
    if total > int(counts.sum()):
        raise UserError(f"budget {total} exceeds the {int(counts.sum())} real items")
    ratio = total / int(counts.sum())
    alloc = torch.where(present, (counts.double() * ratio).floor().long().clamp(min=1), 0)
    # The largest class absorbs the rounding difference, as in GCond; when it cannot (it would
    # drop below 1 or above its size), spread the rest over the other classes by size.
    order = torch.argsort(counts, descending=True, stable=True)
    diff = total - int(alloc.sum())
    for c in order.tolist():
        if diff == 0:
            break
        low, high = (1, int(counts[c])) if present[c] else (0, 0)
        new = min(max(int(alloc[c]) + diff, low), high)
        diff -= new - int(alloc[c])
        alloc[c] = new
    assert diff == 0 and int(alloc.sum()) == total
    return alloc
