"""The one seam through which statistics of *real* data are reduced across processes.

Every method computes real-data statistics (per-class gradients, mean embeddings, kernel blocks)
on its share of the real data and passes them through :func:`reduce_real`. In a single process
that is the identity; under ``torchrun`` with an initialised process group the statistic is
averaged (or summed) over ranks, so data-parallel condensation needs no change in method code.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def reduce_real(tensor: torch.Tensor, op: str = "mean") -> torch.Tensor:
    """Reduce a real-data statistic over all processes (``op`` is ``"mean"`` or ``"sum"``).

    Returns a new tensor; the input is not modified. Gradients do not flow through the
    reduction (real-data statistics are targets, computed without a graph to the synthetic set).
    """
    if op not in ("mean", "sum"):
        raise ValueError(f"op must be 'mean' or 'sum', got {op!r}")
    if not is_distributed():
        return tensor
    reduced = tensor.detach().clone()
    dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
    if op == "mean":
        reduced /= dist.get_world_size()
    return reduced
